/**
 * The runtime's commands: start (src/cli/start.ts; the project's `npm start` and `npm run local`)
 * prints its URLs and start-up time, logs one line per invocation and stops cleanly on SIGTERM;
 * invoke (src/cli/invoke.ts; `npm run invoke`) runs one function on one event file and prints
 * the result. Both refuse unknown parameters and run on the template's Node.js major.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { expect } from 'chai';
import { collect, freePort, PACKAGE_DIR, tsx, waitFor } from '../commands';
import { connect, eventually, FIXTURE_TEMPLATE } from '../helpers';

const EVENT = join(FIXTURE_TEMPLATE, '..', 'events', 'message.json');

describe('local runtime: start (src/cli/start.ts: npm start, npm run local)', () => {
  it('prints the URLs and the start-up time, logs invocations, and stops on SIGTERM', async () => {
    const child = tsx('src/cli/start.ts', ['--template', FIXTURE_TEMPLATE, '--port', '0', '--dynamodb-port', '0']);
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
});

/** Whether something accepts connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    }).on('error', () => resolve(false));
  });
}

describe('local runtime: a nodejs20.x app of ES modules, copied outside the repository', function () {
  this.timeout(60_000);

  it("runs it unmodified on the template's Node.js 20 when PATH has one: its handlers import the SDK Lambda provides", async () => {
    // Outside the repository: nothing above the app resolves this project's node_modules.
    const app = mkdtempSync(join(tmpdir(), 'nodejs20-app-'));
    cpSync(join(PACKAGE_DIR, 'fixtures', 'esm-broadcast'), app, { recursive: true });
    const template = join(app, 'template.yaml');
    writeFileSync(template, readFileSync(template, 'utf8').replace('Runtime: nodejs24.x', 'Runtime: nodejs20.x'));
    let pathMajor: string | undefined;
    try {
      pathMajor = execFileSync('node', ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).trim();
    } catch {
      pathMajor = undefined;
    }
    const child = tsx('src/cli/start.ts', ['--template', template, '--port', '0', '--dynamodb-port', '0', '--no-watch']);
    const { out, err } = collect(child);
    try {
      const [, port] = await waitFor(out, /WebSocket API\s+ws:\/\/localhost:(\d+)\/dev/, 40_000);
      await waitFor(out, /Ready in \d+ ms/);
      const [, ranOn] = await waitFor(out, /Functions on\s+Node\.js v(\d+)\./);
      if (pathMajor === '20') expect(ranOn, `PATH has Node.js 20:\n${err()}`).to.equal('20');
      const [sender, receiver] = [await connect(`ws://127.0.0.1:${port}/dev`), await connect(`ws://127.0.0.1:${port}/dev`)];
      sender.send({ action: 'sendmessage', message: 'hello from an ES module app' });
      expect(JSON.parse(await receiver.next(20_000))).to.deep.equal({ message: 'hello from an ES module app' });
      await Promise.all([sender.close(), receiver.close()]);
      expect(out() + err(), 'no Runtime.ImportModuleError').not.to.include('ImportModuleError');
      // Killed outright, the command takes the runtime it started again on Node.js 20 with it.
      child.kill('SIGKILL');
      await eventually(async () => ((await listening(Number(port))) ? undefined : true), 10_000, `port ${port} let go`);
    } finally {
      child.kill('SIGKILL');
      rmSync(app, { recursive: true, force: true });
    }
  });
});

describe('local runtime: start and invoke, what they refuse, and the Node.js they run on', () => {
  for (const [command, args] of [
    ['start', ['src/cli/start.ts', '--template', FIXTURE_TEMPLATE, '--port', '0', '--dynamodb-port', '0']],
    ['invoke', ['src/cli/invoke.ts', 'TwoWayFunction', EVENT, '--template', FIXTURE_TEMPLATE]],
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
      const child = tsx('src/cli/start.ts', ['--template', templateOn('nodejs99.x'), '--port', '0', '--dynamodb-port', '0'], {
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
      const child = tsx('src/cli/start.ts', ['--template', templateOn('nodejs98.x'), '--port', '0', '--dynamodb-port', '0']);
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

describe('local runtime: invoke (src/cli/invoke.ts: npm run invoke)', () => {
  it('runs one function on one event file and prints its result', async () => {
    const child = tsx('src/cli/invoke.ts', ['TwoWayFunction', EVENT, '--template', FIXTURE_TEMPLATE], {
      DYNAMODB_PORT: String(await freePort()),
      PORT: String(await freePort()),
    });
    const { out, err, exited } = collect(child);
    expect(await exited, err()).to.equal(0);
    expect(JSON.parse(out())).to.deep.equal({ statusCode: 200, body: 'pong: {"action":"twoway"}' });
    expect(err()).to.match(/REPORT RequestId: \S+\tDuration: [\d.]+ ms/);
  });

  it("answers the function's posts with GoneException when npm start is not running, and exits 1 on error", async () => {
    const child = tsx('src/cli/invoke.ts', ['EchoFunction', EVENT, '--template', FIXTURE_TEMPLATE], {
      DYNAMODB_PORT: String(await freePort()),
      PORT: String(await freePort()),
    });
    const { out, err, exited } = collect(child);
    expect(await exited, err()).to.equal(1);
    expect(JSON.parse(out())).to.include({ errorType: 'GoneException' });
  });
});
