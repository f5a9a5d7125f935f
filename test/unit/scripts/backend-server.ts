/**
 * A stand-in for the backend HTTP API, for the tests of scripts/backend-client.ts: a node:http
 * server on 127.0.0.1 that keeps every request it receives (headers and body as they arrived) and
 * answers each with `answer`; and a run of a command against it through --local, output kept.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runBackendCommand, type BackendCommand } from '../../../scripts/backend-client';
import { DEFAULT_DEPS } from '../../../scripts/backend-endpoint';

export interface Received {
  method?: string;
  url?: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface FakeBackend {
  port: number;
  received: Received[];
  answer: { status: number; body: string };
  /** Forgets what was received; answers 200 {"ok":true} again. */
  reset(): void;
  close(): Promise<void>;
}

export async function startFakeBackend(): Promise<FakeBackend> {
  const backend = { received: [], answer: { status: 200, body: '{"ok":true}' } } as unknown as FakeBackend;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      backend.received.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(backend.answer.status, { 'content-type': 'application/json' }).end(backend.answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  backend.port = (server.address() as AddressInfo).port;
  backend.reset = () => {
    backend.received = [];
    backend.answer = { status: 200, body: '{"ok":true}' };
  };
  backend.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return backend;
}

/** Runs a command line with --local pointing at the backend's port (PORT), to its exit code and output. */
export async function runAgainst(
  backend: FakeBackend,
  command: BackendCommand<unknown>,
  argv: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runBackendCommand(command, argv, {
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    deps: { ...DEFAULT_DEPS, env: { PORT: String(backend.port) } },
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
}
