/**
 * The runtime's commands as child processes, for the tests of the commands themselves: a
 * script of local/src/cli run with tsx, what it prints, and waiting for a line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The runtime's package folder (local/). */
export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

/** `node --import tsx <script> ...args` in `cwd` (default: the package folder, where src/cli/<name>.ts are). */
export function tsx(script: string, args: string[], env: Record<string, string> = {}, cwd = PACKAGE_DIR): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** What a child prints, as it prints it, and its exit code. */
export function collect(child: ChildProcess): { out: () => string; err: () => string; exited: Promise<number | null> } {
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { out: () => out, err: () => err, exited };
}

/** Waits until `read()` matches `pattern`. */
export async function waitFor(read: () => string, pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = read().match(pattern);
    if (match) return match;
    if (Date.now() > deadline) throw new Error(`${pattern} not seen in:\n${read()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
