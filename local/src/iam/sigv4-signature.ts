/**
 * The SigV4 signature of a header-signed request, as the SDK's signer computes it, for the doors
 * to compare with the one a request carries (sigv4.ts checks everything else): the HMAC of the
 * string to sign (the date, the scope and the hash of the canonical request) under the key
 * derived from the secret. The key is kept per secret, day, region and service, and the canonical
 * request of a plain request is written here; a new SDK signer per request did all of SigV4 again,
 * key derivation included (~28 µs against ~15 µs per verification in a loop), on the main thread
 * that serves every call.
 */
import { createHash, createHmac, hash, type Hash, type Hmac } from 'node:crypto';
import { getCanonicalHeaders, SignatureV4Base } from '@smithy/signature-v4';

/** SHA-256 and HMAC-SHA-256 from node:crypto, in the shape the SDK's signer takes. */
export class Sha256 {
  private readonly hash: Hash | Hmac;

  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    const key =
      typeof secret === 'string' || secret === undefined
        ? secret
        : ArrayBuffer.isView(secret)
          ? Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength)
          : Buffer.from(secret);
    this.hash = key === undefined ? createHash('sha256') : createHmac('sha256', key);
  }

  update(data: Uint8Array): void {
    this.hash.update(data);
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}

/** A request as the SDK's signer reads it (method, path, query, the signed headers, the body). */
export type SignableRequest = Parameters<typeof getCanonicalHeaders>[0];

/** The canonical request by the SDK signer's own method (its base class's), for any request. */
class SignerCanonicalRequests extends SignatureV4Base {
  constructor() {
    super({ service: '-', region: '-', credentials: { accessKeyId: '', secretAccessKey: '' }, sha256: Sha256 });
  }

  of(request: SignableRequest, signedHeaders: string[], payloadHash: string): string {
    return this.createCanonicalRequest(request, getCanonicalHeaders(request, undefined, new Set(signedHeaders)), payloadHash);
  }
}

const signerCanonicalRequests = new SignerCanonicalRequests();

/** A path the SDK's normalisation leaves as it is: segments of unreserved characters, %XX and @, none of them empty, `.` or `..`. */
const PLAIN_PATH = /^(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9\-_.~%@]+)*\/?$/;
const HEADER_NAME = /^[a-z0-9-]+$/;

/**
 * The canonical request of a plain request, as the signer writes it: no query, a plain path
 * (escaped once more, as SigV4 escapes every service's path but S3's), and signed header names in
 * lower case and in order, each present. Undefined for any other request.
 */
export function plainCanonicalRequest(request: SignableRequest, signedHeaders: string[], payloadHash: string): string | undefined {
  if (Object.keys(request.query ?? {}).length > 0 || !PLAIN_PATH.test(request.path)) return undefined;
  const lines: string[] = [];
  for (let i = 0; i < signedHeaders.length; i += 1) {
    const name = signedHeaders[i] as string;
    const value = request.headers[name];
    if (value === undefined || !HEADER_NAME.test(name) || (i > 0 && (signedHeaders[i - 1] as string) >= name)) return undefined;
    lines.push(`${name}:${value.trim().replace(/\s+/g, ' ')}`);
  }
  const path = request.path.replace(/%/g, '%25').replace(/@/g, '%40');
  return `${request.method}\n${path}\n\n${lines.join('\n')}\n\n${signedHeaders.join(';')}\n${payloadHash}`;
}

/** The canonical request as the SDK's signer writes it, by its own method. */
export const signerCanonicalRequest = (request: SignableRequest, signedHeaders: string[], payloadHash: string): string =>
  signerCanonicalRequests.of(request, signedHeaders, payloadHash);

/** The canonical request the SDK's signer signs for `request` with `signedHeaders`. */
export const canonicalRequest = (request: SignableRequest, signedHeaders: string[], payloadHash: string): string =>
  plainCanonicalRequest(request, signedHeaders, payloadHash) ?? signerCanonicalRequest(request, signedHeaders, payloadHash);

/** Signing keys by secret, date, region and service (SigV4's four HMACs, once a day per key). */
const signingKeys = new Map<string, Buffer>();
const MAX_SIGNING_KEYS = 1_000;

function signingKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  const id = `${secretAccessKey}\n${date}\n${region}\n${service}`;
  let key = signingKeys.get(id);
  if (!key) {
    key = [date, region, service, 'aws4_request'].reduce<Buffer>(
      (k, part) => createHmac('sha256', k).update(part).digest(),
      Buffer.from(`AWS4${secretAccessKey}`, 'utf8'),
    );
    if (signingKeys.size >= MAX_SIGNING_KEYS) signingKeys.clear();
    signingKeys.set(id, key);
  }
  return key;
}

/** The signature of `canonical` (a canonical request) made at `longDate` (20250101T120000Z) with the secret, in hex. */
export function headerSignature(
  canonical: string,
  scope: { longDate: string; region: string; service: string; secretAccessKey: string },
): string {
  const date = scope.longDate.slice(0, 8);
  const hashed = hash('sha256', canonical, 'hex');
  const stringToSign = `AWS4-HMAC-SHA256\n${scope.longDate}\n${date}/${scope.region}/${scope.service}/aws4_request\n${hashed}`;
  return createHmac('sha256', signingKey(scope.secretAccessKey, date, scope.region, scope.service))
    .update(stringToSign)
    .digest('hex');
}
