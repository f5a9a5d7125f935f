/**
 * Real `ws` clients for the benchmark: connecting many at once (bounded), noting when each
 * tagged chat message arrives, and closing them all.
 */
import WebSocket from 'ws';
import { within } from './stats';

/** What a client receives for a chat message: its text, raw (plain) or inside a chat.v1 `message` frame. */
export function textOf(data: Buffer): string | undefined {
  if (data[0] !== 0x7b /* { */) return data.toString('utf8');
  try {
    const frame = JSON.parse(data.toString('utf8')) as { type?: string; text?: string };
    return frame.type === 'message' ? frame.text : undefined;
  } catch {
    return data.toString('utf8');
  }
}

export interface Arrival {
  received: number;
  /** performance.now() of the first and the last arrival. */
  first: number;
  last: number;
  complete: boolean;
}

interface Expectation extends Arrival {
  need: number;
  done(): void;
}

/** Arrival times of tagged messages (the tag is the message text) across many connections. */
export class Receipts {
  private readonly waiting = new Map<string, Expectation>();
  /** Arrivals of texts nobody awaits (throughput counts them). */
  others = 0;

  note(text: string | undefined): void {
    if (text === undefined) return;
    const expectation = this.waiting.get(text);
    if (!expectation) {
      this.others += 1;
      return;
    }
    const now = performance.now();
    if (expectation.received === 0) expectation.first = now;
    expectation.received += 1;
    expectation.last = now;
    if (expectation.received === expectation.need) expectation.done();
  }

  /** Resolves when `need` clients got `text`, or after `timeoutMs` with complete: false. Register before sending. */
  expect(text: string, need: number, timeoutMs: number): Promise<Arrival> {
    return new Promise((resolve) => {
      const finish = (complete: boolean): void => {
        clearTimeout(timer);
        this.waiting.delete(text);
        resolve({ received: entry.received, first: entry.first, last: entry.last, complete });
      };
      const entry: Expectation = { need, received: 0, first: Number.NaN, last: Number.NaN, complete: false, done: () => finish(true) };
      this.waiting.set(text, entry);
      const timer = setTimeout(() => finish(false), timeoutMs);
    });
  }

  /** Notes what `ws` receives. */
  listen(ws: WebSocket): void {
    ws.on('message', (data: Buffer) => this.note(textOf(data)));
  }
}

function open(url: string, protocols: string[], timeoutMs: number): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, { perMessageDeflate: false });
  ws.on('error', () => undefined);
  return within(
    timeoutMs,
    `connecting to ${url}`,
    new Promise<WebSocket>((resolve, reject) => {
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`${url}: HTTP ${res.statusCode}`)));
      ws.once('close', () => reject(new Error(`${url}: closed before open`)));
    }),
  ).catch((error: unknown) => {
    ws.terminate();
    throw error;
  });
}

export interface ConnectOptions {
  protocols?: string[];
  /** Connections being opened at once. */
  concurrency?: number;
  timeoutMs?: number;
}

/** Opens `count` connections to url(i), a bounded number at a time, in index order. */
export async function connectMany(url: (index: number) => string, count: number, options: ConnectOptions = {}): Promise<WebSocket[]> {
  const sockets: WebSocket[] = new Array<WebSocket>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      sockets[index] = await open(url(index), options.protocols ?? [], options.timeoutMs ?? 30_000);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(count, options.concurrency ?? 32) }, worker));
  } catch (error: unknown) {
    await closeAll(sockets.filter(Boolean));
    throw error;
  }
  return sockets;
}

/** Closes every socket and waits for the close handshakes (terminating what is left after `timeoutMs`). */
export async function closeAll(sockets: readonly WebSocket[], timeoutMs = 5_000): Promise<void> {
  const closed = sockets.map((ws) =>
    ws.readyState === WebSocket.CLOSED
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          if (ws.readyState === WebSocket.OPEN) ws.close(1000);
        }),
  );
  await within(timeoutMs, 'closing clients', Promise.all(closed)).catch(() => undefined);
  for (const ws of sockets) if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
}

/** The next text frame `ws` receives that matches, within `timeoutMs`. */
export function nextText(ws: WebSocket, matches: (text: string) => boolean, timeoutMs = 10_000): Promise<string> {
  let listener: ((data: Buffer) => void) | undefined;
  return within(
    timeoutMs,
    'waiting for a frame',
    new Promise<string>((resolve) => {
      listener = (data: Buffer): void => {
        const text = data.toString('utf8');
        if (matches(text)) resolve(text);
      };
      ws.on('message', listener);
    }),
  ).finally(() => {
    if (listener) ws.off('message', listener);
  });
}

/** The connection id the server gave `ws`, from the tutorial's $default answer ("Your info: {...}"). */
export async function connectionIdOf(ws: WebSocket): Promise<string> {
  const answer = nextText(ws, (text) => text.includes('connectionID'));
  ws.send('whoami');
  const id = /"connectionID":"([^"]+)"/.exec(await answer)?.[1];
  if (!id) throw new Error('no connectionID in the $default answer');
  return id;
}
