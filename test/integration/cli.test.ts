/**
 * The project's `npm start` with sign-in on (AuthMode=cognito): the wscat command it prints
 * gets a token from the local issuer and connects. (The command itself, on the runtime's
 * fixture template, is tested in local/test/integration/cli.test.ts.)
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';
import { collect, tsx, waitFor } from '../../local/test/commands';
import { connect, PROJECT_TEMPLATE } from './helpers';

const ROOT = join(PROJECT_TEMPLATE, '..');

describe('npm start (the project template)', () => {
  it('with an authorizer on $connect, prints a wscat command that gets a token and connects', async function () {
    this.timeout(60_000);
    const child = tsx(
      'local/src/cli/start.ts',
      ['--port', '0', '--dynamodb-port', '0', '--no-watch', '--parameter-overrides', 'AuthMode=cognito'],
      {},
      ROOT,
    );
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
