/**
 * The commands: `npm start` (local/cli.ts) prints its URLs and start-up time, logs one line per
 * invocation and stops cleanly on SIGTERM; `npm run invoke` (local/invoke.ts) runs one function
 * on one event file and prints the result.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { expect } from 'chai';
import { connect, FIXTURE_TEMPLATE, PROJECT_TEMPLATE } from './helpers';

const ROOT = join(PROJECT_TEMPLATE, '..');
const EVENT = join(FIXTURE_TEMPLATE, '..', 'events', 'message.json');

function tsx(script: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function collect(child: ChildProcess): { out: () => string; err: () => string; exited: Promise<number | null> } {
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { out: () => out, err: () => err, exited };
}

async function waitFor(read: () => string, pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = read().match(pattern);
    if (match) return match;
    if (Date.now() > deadline) throw new Error(`${pattern} not seen in:\n${read()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('npm start (local/cli.ts)', () => {
  it('prints the URLs and the start-up time, logs invocations, and stops on SIGTERM', async () => {
    const child = tsx('local/cli.ts', ['--template', FIXTURE_TEMPLATE, '--port', '0', '--dynamodb-port', '0']);
    const { out, err, exited } = collect(child);
    try {
      const [, port] = await waitFor(out, /WebSocket API\s+ws:\/\/localhost:(\d+)\/test/);
      await waitFor(out, /Chat page\s+http:\/\/localhost:\d+\//);
      await waitFor(out, /DynamoDB\s+http:\/\/127\.0\.0\.1:\d+/);
      await waitFor(out, /Ready in \d+ ms/);
      const client = await connect(`ws://127.0.0.1:${port}/test`);
      client.send({ action: 'twoway' });
      expect(await client.next()).to.equal('pong: {"action":"twoway"}');
      await waitFor(out, /twoway\s+\S+=\s+TwoWayFunction\s+\d+ ms\s+200/);
      child.kill('SIGTERM');
      expect(await exited, err()).to.equal(0);
      expect((await client.closed).code).to.equal(1001);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('npm run invoke (local/invoke.ts)', () => {
  it('runs one function on one event file and prints its result', async () => {
    const child = tsx('local/invoke.ts', ['TwoWayFunction', EVENT, '--template', FIXTURE_TEMPLATE], {
      DYNAMODB_PORT: String(await freePort()),
      PORT: String(await freePort()),
    });
    const { out, err, exited } = collect(child);
    expect(await exited, err()).to.equal(0);
    expect(JSON.parse(out())).to.deep.equal({ statusCode: 200, body: 'pong: {"action":"twoway"}' });
    expect(err()).to.match(/REPORT RequestId: \S+\tDuration: [\d.]+ ms/);
  });

  it('answers the function\'s posts with GoneException when npm start is not running, and exits 1 on error', async () => {
    const child = tsx('local/invoke.ts', ['EchoFunction', EVENT, '--template', FIXTURE_TEMPLATE], {
      DYNAMODB_PORT: String(await freePort()),
      PORT: String(await freePort()),
    });
    const { out, err, exited } = collect(child);
    expect(await exited, err()).to.equal(1);
    expect(JSON.parse(out())).to.include({ errorType: 'GoneException' });
  });
});
