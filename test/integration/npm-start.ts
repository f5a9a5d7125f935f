/** `npm start` (tsx local/src/cli/start.ts) as a child process, for tests of the process itself: signals, kills, restarts. */
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsx } from '../../local/test/commands';
import { eventually } from './helpers';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `npm start`, as a child process on ephemeral ports. */
export class NpmStart {
  readonly child: ChildProcess;
  out = '';
  err = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;

  constructor(dataDir: string, env: Record<string, string> = {}) {
    this.child = tsx(
      'local/src/cli/start.ts',
      ['--data-dir', dataDir, '--no-watch', '--quiet'],
      { PORT: '0', DYNAMODB_PORT: '0', HOST: '127.0.0.1', LOCAL_FAULTS: '', LOCAL_IAM: '', ...env },
      ROOT,
    );
    this.child.stdout?.on('data', (c: Buffer) => (this.out += c.toString()));
    this.child.stderr?.on('data', (c: Buffer) => (this.err += c.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal, at: performance.now() })));
  }

  async ready(): Promise<{ wsUrl: string; port: number; dynamodb: string }> {
    const match = await eventually(
      async () => {
        if (this.child.exitCode !== null) throw new Error(`npm start exited ${this.child.exitCode}: ${this.err}`);
        const ws = /WebSocket API\s+ws:\/\/localhost:(\d+)\/(\S+)/.exec(this.out);
        const db = /DynamoDB\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(this.out);
        return ws && db && /Ready in/.test(this.out) ? { ws, db } : undefined;
      },
      25_000,
      'npm start ready',
    );
    const port = Number(match.ws[1]);
    return { wsUrl: `ws://127.0.0.1:${port}/${match.ws[2]}`, port, dynamodb: match.db[1] as string };
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
