/**
 * The package's command, `sam-websocket-local` (bin/sam-websocket-local.mjs), as a user of the
 * package runs it: from another folder, on a template of its own.
 */
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { connect, eventually } from '../helpers';

const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe("sam-websocket-local (the package's bin)", function () {
  this.timeout(60_000);

  it('serves a template given from another folder, with its own stage, and stops on SIGTERM', async () => {
    const template = join(PACKAGE, 'fixtures', 'esm-broadcast', 'template.yaml');
    const child = spawn(
      process.execPath,
      [join(PACKAGE, 'bin', 'sam-websocket-local.mjs'), '--template', template, '--port', '0', '--dynamodb-port', '0', '--no-watch'],
      {
        cwd: tmpdir(),
        env: { ...process.env, PORT: '', DYNAMODB_PORT: '' },
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const port = await eventually(async () => /WebSocket API\s+ws:\/\/localhost:(\d+)\/dev/.exec(out)?.[1], 45_000, 'the banner');
      expect(out).to.match(/^esm-broadcast, local runtime/m);
      const alice = await connect(`ws://127.0.0.1:${port}/dev`);
      alice.send({ action: 'sendmessage', message: 'from the bin' });
      expect(JSON.parse(await alice.next())).to.deep.equal({ message: 'from the bin' });
      alice.close();
      child.kill('SIGTERM');
      expect(await exited, out).to.equal(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
