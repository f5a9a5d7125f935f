/**
 * What the hardening tests (fuzz, load) share: the project's template behind the local
 * runtime, WebSocket peers that keep every frame they receive (text or binary) and how they
 * were closed, a raw-socket client for frames `ws` will not send (protocol violations), a
 * seeded PRNG so that a failing run can be replayed, and the figures they print.
 */
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect, type Socket } from 'node:net';
import { dirname, join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from '../../local/src/index';
import { CHAT_V1 } from 'chat-core/wire';
import { ONE_ADDRESS_FOR_ALL } from '../integration/helpers';

/** The chat.v1 subprotocol (chat-core's wire rules). */
export { CHAT_V1 };

const here = dirname(fileURLToPath(import.meta.url));
export const PROJECT_TEMPLATE = joinPath(here, '..', '..', 'template.yaml');
/** The $default answer's first sentence (README, "The tutorial, locally"). */
export const USAGE = 'Use the sendmessage route to send a message.';

/**
 * The project's template on ephemeral ports of 127.0.0.1, in memory, silent. The stage's
 * throttling is off so that what is measured is the application, and the limits per identity
 * are lifted (ONE_ADDRESS_FOR_ALL).
 */
export function startChat(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  return startLocalRuntime({
    templatePath: PROJECT_TEMPLATE,
    host: '127.0.0.1',
    port: 0,
    dynamodbPort: 0,
    quiet: true,
    // The stage's throttling off, so that what is measured is the application.
    throttling: false,
    ...options,
    env: { ...ONE_ADDRESS_FOR_ALL, ...options.env },
  });
}

/** Waits until every $connect has had its $disconnect (so closing the runtime cuts no invocation short). */
export async function drainDisconnects(runtime: LocalRuntime, timeoutMs: number): Promise<boolean> {
  const count = (id: string): number => runtime.stats()[id]?.invocations ?? 0;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (count('DisconnectFunction') >= count('ConnectFunction')) return true;
    await sleep(50);
  }
  return false;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function chatUrl(runtime: LocalRuntime, room: string, name: string): string {
  return `${runtime.wsUrl}?${new URLSearchParams({ room, name }).toString()}`;
}

// ------------------------------------------------------------------------------ peers

export interface Received {
  /** performance.now() on arrival. */
  at: number;
  /** The text of a text frame; the bytes, as latin1, of a binary one. */
  text: string;
  binary: boolean;
}

export interface Closed {
  code: number;
  reason: string;
}

/**
 * A WebSocket client that keeps every frame it receives, in order, and lets a test wait for
 * the next frame a predicate accepts (frames it does not accept stay where they are).
 */
export class Peer {
  readonly received: Received[] = [];
  readonly closed: Promise<Closed>;
  closedWith: Closed | undefined;
  private waiters = new Set<() => void>();

  constructor(
    readonly ws: WebSocket,
    readonly name: string,
    readonly room: string,
    readonly protocol: 'plain' | 'chat.v1',
  ) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.received.push({ at: performance.now(), text: isBinary ? data.toString('latin1') : data.toString('utf8'), binary: isBinary });
      for (const wake of [...this.waiters]) wake();
    });
    ws.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      ws.on('close', (code: number, reason: Buffer) => {
        this.closedWith = { code, reason: reason.toString() };
        resolve(this.closedWith);
        for (const wake of [...this.waiters]) wake();
      }),
    );
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /**
   * The first frame at index `from` or later that `accept` takes, with its index; undefined
   * when none comes within `timeoutMs` or the connection closes first.
   */
  async waitFor(
    from: number,
    accept: (frame: Received) => boolean,
    timeoutMs: number,
  ): Promise<{ index: number; frame: Received } | undefined> {
    const deadline = performance.now() + timeoutMs;
    let next = from;
    for (;;) {
      for (; next < this.received.length; next += 1) {
        const frame = this.received[next] as Received;
        if (accept(frame)) return { index: next, frame };
      }
      const left = deadline - performance.now();
      if (left <= 0 || this.closedWith !== undefined) return undefined;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  close(): Promise<Closed> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000);
    return this.closed;
  }
}

/** Connects as `name` to `room`; chat.v1 asks for the subprotocol and fails unless it was negotiated. */
export function join(runtime: LocalRuntime, room: string, name: string, protocol: 'plain' | 'chat.v1', timeoutMs = 30_000): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(chatUrl(runtime, room, name), protocol === CHAT_V1 ? [CHAT_V1] : [], { perMessageDeflate: false });
    const peer = new Peer(ws, name, room, protocol);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`${name} could not join ${room} within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.once('open', () => {
      clearTimeout(timer);
      if (ws.protocol !== (protocol === CHAT_V1 ? CHAT_V1 : '')) reject(new Error(`${name}: negotiated "${ws.protocol}"`));
      else resolve(peer);
    });
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      reject(new Error(`${name} refused: HTTP ${res.statusCode}`));
    });
    ws.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** API Gateway's own error frames (not the chat's): Internal server error, timeouts, Forbidden. */
export function gatewayError(text: string): string | undefined {
  if (!text.startsWith('{"message"')) return undefined;
  try {
    const frame = JSON.parse(text) as Record<string, unknown>;
    return 'requestId' in frame && typeof frame.message === 'string' ? frame.message : undefined;
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------- raw frames

/**
 * A WebSocket client on a bare TCP socket, for frames `ws` refuses to send (unmasked, reserved
 * bits or opcodes, oversized control frames). `send` writes bytes as they are; `closeCode`
 * resolves with the code of the server's close frame (undefined when the socket ends without
 * one, or after `timeoutMs`).
 */
export class RawPeer {
  private buffer = Buffer.alloc(0);
  private upgraded = false;
  /** Text frames received before the close. */
  readonly texts: string[] = [];
  readonly closeCode: Promise<number | undefined>;
  private resolveClose!: (code: number | undefined) => void;

  private constructor(
    private readonly socket: Socket,
    timeoutMs: number,
  ) {
    this.closeCode = new Promise((resolve) => {
      this.resolveClose = resolve;
    });
    const timer = setTimeout(() => this.resolveClose(undefined), timeoutMs);
    void this.closeCode.then(() => clearTimeout(timer));
    socket.on('data', (chunk: Buffer) => this.data(chunk));
    socket.on('error', () => this.resolveClose(undefined));
    socket.on('close', () => this.resolveClose(undefined));
  }

  static open(runtime: LocalRuntime, room: string, name: string, timeoutMs = 30_000): Promise<RawPeer> {
    const url = new URL(chatUrl(runtime, room, name));
    return new Promise((resolve, reject) => {
      const socket = tcpConnect(Number(url.port), url.hostname);
      const peer = new RawPeer(socket, timeoutMs);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.write(
          `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
      peer.onUpgrade = (ok, head) => (ok ? resolve(peer) : reject(new Error(`raw upgrade refused: ${head.split('\r\n')[0]}`)));
    });
  }

  private onUpgrade: (ok: boolean, head: string) => void = () => undefined;

  private data(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    if (!this.upgraded) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buffer.subarray(0, end).toString('latin1');
      this.buffer = this.buffer.subarray(end + 4);
      this.upgraded = true;
      this.onUpgrade(head.startsWith('HTTP/1.1 101'), head);
    }
    // Server frames are unmasked: FIN/opcode, length (7, 16 or 64 bits), payload.
    for (;;) {
      if (this.buffer.length < 2) return;
      const opcode = (this.buffer[0] as number) & 0x0f;
      let length = (this.buffer[1] as number) & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.buffer.length < 4) return;
        length = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.buffer.length < 10) return;
        length = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.buffer.length < offset + length) return;
      const payload = this.buffer.subarray(offset, offset + length);
      this.buffer = this.buffer.subarray(offset + length);
      if (opcode === 0x1) this.texts.push(payload.toString('utf8'));
      if (opcode === 0x8) {
        this.resolveClose(payload.length >= 2 ? payload.readUInt16BE(0) : 1005);
        this.socket.destroy();
        return;
      }
    }
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** One client frame: `fin`, `rsv` bits (0-7), opcode, masked unless `masked` is false. */
export function rawFrame(payload: Buffer, { opcode = 0x1, fin = true, rsv = 0, masked = true } = {}): Buffer {
  const first = (fin ? 0x80 : 0) | ((rsv & 0x7) << 4) | (opcode & 0x0f);
  const header: number[] = [first];
  const maskBit = masked ? 0x80 : 0;
  if (payload.length < 126) header.push(maskBit | payload.length);
  else if (payload.length < 65536) header.push(maskBit | 126, payload.length >> 8, payload.length & 0xff);
  else throw new Error('rawFrame: payloads over 64 KB are not needed here');
  if (!masked) return Buffer.concat([Buffer.from(header), payload]);
  const mask = randomBytes(4);
  const body = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] as number)));
  return Buffer.concat([Buffer.from(header), mask, body]);
}

// ------------------------------------------------------------------- randomness

/** mulberry32: a small, fast, seeded PRNG (the same seed gives the same run of hostile frames). */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** [0, 1) */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** An item chosen with the given weights. */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    const total = items.reduce((sum, [, weight]) => sum + weight, 0);
    let at = this.next() * total;
    for (const [item, weight] of items) {
      at -= weight;
      if (at < 0) return item;
    }
    return (items[items.length - 1] as readonly [T, number])[0];
  }

  bytes(length: number): Buffer {
    return Buffer.from(Array.from({ length }, () => this.int(0, 255)));
  }

  /** A child generator, independent of how much of this one is used later. */
  fork(label: number): Rng {
    return new Rng(Math.imul(this.int(0, 0xffffffff) ^ label, 0x9e3779b1));
  }
}

/** The seed of this run: HARDENING_SEED (decimal or 0x…) or a fixed default, so CI runs are repeatable. */
export function seedFromEnv(fallback: number): number {
  const given = process.env.HARDENING_SEED;
  return given ? Number(given) >>> 0 : fallback;
}

// ------------------------------------------------------------------- figures

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

export const count = (n: number): string => n.toLocaleString('en-US');
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** `label  value` lines under a title, aligned. */
export function figures(title: string, rows: readonly (readonly [string, string | number])[]): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return [
    `      ${title}`,
    ...rows.map(([label, value]) => `        ${label.padEnd(width)}  ${typeof value === 'number' ? count(value) : value}`),
  ].join('\n');
}

/** A tally as "a 12, b 3" (largest first). */
export function tally(counts: ReadonlyMap<string, number>): string {
  return (
    [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([key, n]) => `${key} ${count(n)}`)
      .join(', ') || 'none'
  );
}

export function bump(counts: Map<string, number>, key: string, by = 1): void {
  counts.set(key, (counts.get(key) ?? 0) + by);
}
