/** The SHA-256 the direct paths give the SDK's signer (platform/one-shot-sha256.ts), against node:crypto's own objects. */
import { createHash, createHmac } from 'node:crypto';
import { expect } from 'chai';
import { OneShotSha256 } from '../../../layers/chat-core/src/platform/one-shot-sha256';

const hex = async (hash: OneShotSha256): Promise<string> => Buffer.from(await hash.digest()).toString('hex');

describe('layer: one-shot SHA-256 for the signer', () => {
  it('hashes what it is given, in one part or several, strings (UTF-8) or bytes, as createHash does', async () => {
    for (const parts of [[''], ['POST\n/\n\nhost:127.0.0.1'], ['héllo, ', new Uint8Array([0, 1, 255]), ' wörld']]) {
      const ours = new OneShotSha256();
      const theirs = createHash('sha256');
      for (const part of parts) {
        ours.update(part);
        theirs.update(part);
      }
      expect(await hex(ours), JSON.stringify(parts)).to.equal(theirs.digest('hex'));
    }
  });

  it('keys an HMAC with a string, bytes or an ArrayBuffer, as createHmac does', async () => {
    const bytes = new Uint8Array([1, 2, 3, 250]);
    for (const secret of ['AWS4secret', bytes, bytes.buffer]) {
      const ours = new OneShotSha256(secret);
      ours.update('20261208');
      ours.update(new Uint8Array([10]));
      const theirs = createHmac('sha256', typeof secret === 'string' ? secret : new Uint8Array(secret as ArrayBufferLike));
      theirs.update('20261208');
      theirs.update(new Uint8Array([10]));
      expect(await hex(ours)).to.equal(theirs.digest('hex'));
    }
  });
});
