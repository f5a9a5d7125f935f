import { createHmac, hash } from 'node:crypto';

/**
 * SHA-256 and HMAC-SHA-256 for the SDK's SigV4 signer on the direct paths (direct-post.ts,
 * direct-dynamodb.ts), in the shape the signer takes (`new`, `update`, `digest`). A plain hash
 * is node:crypto's one-shot `hash()` over what was given, with no hash object: a signature
 * takes two of them (the payload, the canonical request), and on a thread busy with other work
 * a hash object costs several times the hash (~5 against ~2 µs each, measured between other
 * work). HMACs, which have no one-shot form, are node:crypto's.
 */
export class OneShotSha256 {
  private readonly parts: Uint8Array[] = [];

  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {}

  update(data: string | Uint8Array): void {
    this.parts.push(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }

  digest(): Promise<Uint8Array> {
    const data = this.parts.length === 1 ? (this.parts[0] as Uint8Array) : Buffer.concat(this.parts);
    if (this.secret === undefined) return Promise.resolve(hash('sha256', data, 'buffer'));
    const { secret } = this;
    const key =
      typeof secret === 'string'
        ? secret
        : ArrayBuffer.isView(secret)
          ? Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength)
          : Buffer.from(secret);
    return Promise.resolve(createHmac('sha256', key).update(data).digest());
  }
}
