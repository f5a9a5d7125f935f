/**
 * The commands: `npm start` (local/src/cli/start.ts) prints its URLs and start-up time, logs one line per
 * invocation and stops cleanly on SIGTERM; `npm run invoke` (local/src/cli/invoke.ts) runs one function
 * on one event file and prints the result.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
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

describe('npm start (local/src/cli/start.ts)', () => {
  it('prints the URLs and the start-up time, logs invocations, and stops on SIGTERM', async () => {
    const child = tsx('local/src/cli/start.ts', ['--template', FIXTURE_TEMPLATE, '--port', '0', '--dynamodb-port', '0']);
    const { out, err, exited } = collect(child);
    try {
      const [, port] = await waitFor(out, /WebSocket API\s+ws:\/\/localhost:(\d+)\/test/);
      await waitFor(out, /Web page\s+http:\/\/localhost:\d+\//);
      await waitFor(out, /DynamoDB\s+http:\/\/127\.0\.0\.1:\d+/);
      await waitFor(out, /Ready in \d+ ms/);
      expect(out(), 'the Node.js the functions run on').to.match(/Functions on\s+Node\.js v24\.\d+\.\d+ \(template: nodejs24\.x\)\n/);
      const client = await connect(`ws://127.0.0.1:${port}/test`);
      client.send({ action: 'twoway' });
      expect(await client.next()).to.equal('pong: {"action":"twoway"}');
      await waitFor(out, /twoway\s+\S+=\s+TwoWayFunction\s+\d+ ms\s+200/);
      child.kill('SIGTERM');
      expect(await exited, err()).to.equal(0);
      expect((await client.closed).code).to.equal(1001);
      expect(err(), "no warning about the Node.js version (the SDK's or ours)").not.to.match(
        /NodeVersionSupportWarning|Warning: the template's functions run on/,
      );
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('with an authorizer on $connect, prints a wscat command that gets a token and connects', async function () {
    this.timeout(60_000);
    const child = tsx('local/src/cli/start.ts', [
      '--port',
      '0',
      '--dynamodb-port',
      '0',
      '--no-watch',
      '--parameter-overrides',
      'AuthMode=cognito',
    ]);
    const { out, exited } = collect(child);
    try {
      const [, url, command] = await waitFor(
        out,
        /WebSocket API\s+\S+\s+\(wscat -c "(ws:\/\/localhost:\d+\/production)\?token=\$\((.+)\)"\)/,
      );
      await waitFor(out, /Ready in \d+ ms/);
      const token = await new Promise<string>((resolve, reject) => {
        const shell = spawn('sh', ['-c', command as string], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
        let printed = '';
        shell.stdout.on('data', (c: Buffer) => (printed += c.toString()));
        shell.on('exit', (code) => (code === 0 ? resolve(printed.trim()) : reject(new Error(`${command} exited ${code}`))));
      });
      const client = await connect(`${(url as string).replace('localhost', '127.0.0.1')}?token=${token}`);
      client.send('hello?');
      expect(await client.next()).to.match(/^Use the sendmessage route/);
      client.close();
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});

describe('npm start and npm run invoke: what they refuse, and the Node.js they run on', () => {
  for (const [command, args] of [
    ['npm start', ['local/src/cli/start.ts', '--template', FIXTURE_TEMPLATE, '--port', '0', '--dynamodb-port', '0']],
    ['npm run invoke', ['local/src/cli/invoke.ts', 'TwoWayFunction', EVENT, '--template', FIXTURE_TEMPLATE]],
  ] as const) {
    it(`${command}: a --parameter-overrides name that is not a template parameter is an error naming the parameters`, async () => {
      const [script, ...rest] = args;
      const child = tsx(script, [...rest, '--parameter-overrides', 'Greeting=hi StageNme=prod']);
      const { err, exited } = collect(child);
      expect(await exited).to.equal(1);
      expect(err()).to.include(
        '--parameter-overrides: StageNme is not a parameter of the template; its parameters are StageName, Greeting, Loud',
      );
    });
  }

  describe("on another Node.js major than the template's runtime", () => {
    const fixtures = join(FIXTURE_TEMPLATE, '..');
    let fakeBin: string;
    const written: string[] = [];

    /** The fixture template with every function on `runtime`, beside it (its CodeUri paths are relative). */
    const templateOn = (runtime: string): string => {
      const path = join(fixtures, `runtime-${runtime}-${process.pid}.yaml`);
      writeFileSync(path, readFileSync(FIXTURE_TEMPLATE, 'utf8').replace(/Runtime: nodejs\d+\.x/g, `Runtime: ${runtime}`));
      written.push(path);
      return path;
    };

    before(() => {
      // A `node` that says it is v99 and runs this Node.js: a second major without a download.
      fakeBin = mkdtempSync(join(tmpdir(), 'fake-node-'));
      const script = join(fakeBin, 'node');
      writeFileSync(script, `#!/bin/sh\nif [ "$1" = "--version" ]; then echo v99.0.0; exit 0; fi\nexec "${process.execPath}" "$@"\n`);
      chmodSync(script, 0o755);
    });
    after(() => {
      for (const path of written) rmSync(path, { force: true });
      rmSync(fakeBin, { recursive: true, force: true });
    });

    it("starts itself again on a Node.js of the template's major found on PATH", async () => {
      const child = tsx('local/src/cli/start.ts', ['--template', templateOn('nodejs99.x'), '--port', '0', '--dynamodb-port', '0'], {
        PATH: `${fakeBin}${delimiter}${process.env.PATH ?? ''}`,
      });
      const { out, err, exited } = collect(child);
      try {
        await waitFor(err, /starting again on Node\.js 99 \(.*fake-node-.*\/node\)/);
        await waitFor(out, /Ready in \d+ ms/);
        child.kill('SIGTERM');
        expect(await exited, err()).to.equal(0);
      } finally {
        child.kill('SIGKILL');
      }
    });

    it('warns, naming the major to install, and serves on its own Node.js when none is found', async () => {
      const child = tsx('local/src/cli/start.ts', ['--template', templateOn('nodejs98.x'), '--port', '0', '--dynamodb-port', '0']);
      const { out, err, exited } = collect(child);
      try {
        await waitFor(out, /Ready in \d+ ms/);
        expect(err()).to.match(
          /Warning: the template's functions run on Node\.js 98 \(nodejs98\.x\), but this is Node\.js [\d.]+ and no Node\.js 98 was found/,
        );
        expect(out()).to.match(/Functions on\s+Node\.js v[\d.]+ \(template: nodejs98\.x; Lambda would run Node\.js 98\)/);
        child.kill('SIGTERM');
        expect(await exited, err()).to.equal(0);
      } finally {
        child.kill('SIGKILL');
      }
    });
  });
});

describe('npm run invoke (local/src/cli/invoke.ts)', () => {
  it('runs one function on one event file and prints its result', async () => {
    const child = tsx('local/src/cli/invoke.ts', ['TwoWayFunction', EVENT, '--template', FIXTURE_TEMPLATE], {
      DYNAMODB_PORT: String(await freePort()),
      PORT: String(await freePort()),
    });
    const { out, err, exited } = collect(child);
    expect(await exited, err()).to.equal(0);
    expect(JSON.parse(out())).to.deep.equal({ statusCode: 200, body: 'pong: {"action":"twoway"}' });
    expect(err()).to.match(/REPORT RequestId: \S+\tDuration: [\d.]+ ms/);
  });

  it("answers the function's posts with GoneException when npm start is not running, and exits 1 on error", async () => {
    const child = tsx('local/src/cli/invoke.ts', ['EchoFunction', EVENT, '--template', FIXTURE_TEMPLATE], {
      DYNAMODB_PORT: String(await freePort()),
      PORT: String(await freePort()),
    });
    const { out, err, exited } = collect(child);
    expect(await exited, err()).to.equal(1);
    expect(JSON.parse(out())).to.include({ errorType: 'GoneException' });
  });
});
