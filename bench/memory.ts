/**
 * Memory (issue 12, item 5): what the local runtime holds per open connection, and what a
 * function sandbox's fan-out holds per recipient.
 *
 * - The runtime runs in a child process of its own (this module, forked under tsx with
 *   --expose-gc), so that its RSS is the runtime's alone: the benchmark's `ws` clients stay in
 *   this process. The child reads its memory after a GC, idle and with the connections open.
 * - The fan-out runs chat-core's broadcast() from the built layer in a poster worker (a
 *   worker thread of this process, as the runtime's sandboxes are worker threads), against that
 *   runtime's store and @connections, and samples the worker's own V8 heap (poster-worker.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import type WebSocket from 'ws';
import type { LocalRuntime } from '../local/index';
import { closeAll, connectMany } from './clients';
import { startPoster, type Poster } from './poster';
import type { HeapReading } from './poster-worker';
import { drainDisconnects, PROJECT_DIR, runtimeDefaults, startRuntime, stopRuntime } from './runtime';
import { sleep, within } from './stats';

export interface MemoryPlan {
  /** Connections open while the runtime is measured (full run 1,000) … */
  connections: number;
  /** … spread over this many rooms (full run 10). */
  rooms: number;
  /** Recipients of the measured fan-out, all in one room (full run 1,000). */
  fanoutRecipients: number;
  /** The built chat-core layer (…/nodejs/node_modules/chat-core). */
  layerDir: string;
}

/**
 * The runtime process after a full GC of its main thread. Main thread: the WebSocket gateway,
 * @connections, the store (dynalite, in memory: the connection items are on this heap), SQS.
 * The function sandboxes are worker threads of the same process: in the RSS, not in heapUsed.
 */
export interface ProcessMemory {
  /** Resident set of the whole process, sandboxes and native memory included (bytes). */
  rssBytes: number;
  /** The main thread's V8 heap in use (bytes). */
  heapUsedBytes: number;
  /** Sandboxes that had served an invocation by then (cold starts, all functions). */
  sandboxes: number;
}

export interface RuntimeMemory {
  connections: number;
  rooms: number;
  /** No connection open, after a warm-up burst of connects and disconnects started the sandboxes the connects need. */
  idle: ProcessMemory;
  /** With `connections` open, every $connect done and the runtime quiet (presence frames sent). */
  connected: ProcessMemory;
  /** (connected − idle) / connections, in KiB: includes any sandbox that started only for the connects (compare `sandboxes`). */
  rssPerConnectionKb: number;
  heapPerConnectionKb: number;
}

/**
 * A sandbox's fan-out: broadcast() of one chat message to `recipients` plain connections of one
 * room (room query, then posts, FANOUT_CONCURRENCY in flight), in a worker warmed up by one
 * broadcast. Part of the growth is fixed (the in-flight posts) rather than per recipient.
 */
export interface FanoutMemory {
  recipients: number;
  delivered: number;
  /** The warm worker's heap after a GC, with the layer loaded (bytes). */
  idleHeapBytes: number;
  /** The same worker without the layer, after a GC: Node.js and the poster's own SDK clients, which a real sandbox has not (bytes). */
  baseHeapBytes: number;
  /** Largest heap in use sampled during the broadcast, less idleHeapBytes: live objects and garbage not yet collected (bytes). */
  peakGrowthBytes: number;
  /** Largest live heap (a GC before each sample) during a second broadcast, less its GC'd start (bytes). */
  liveGrowthBytes: number;
  /** Of liveGrowthBytes, as it stood right after the room query (the recipients read, no post yet). */
  afterQueryGrowthBytes: number;
  peakBytesPerRecipient: number;
  liveBytesPerRecipient: number;
}

export interface MemoryResult {
  runtime: RuntimeMemory;
  fanout: FanoutMemory;
  seconds: number;
}

/** Set in the child's environment only; the child deletes it once read. */
const CHILD = 'BENCH_MEMORY_RUNTIME_CHILD';

type ToChild = { kind: 'measure'; connects: number; drained: boolean } | { kind: 'stop' };
type FromChild =
  | { kind: 'ready'; wsUrl: string; layerEnv: Record<string, string> }
  | { kind: 'reading'; memory: ProcessMemory }
  | { kind: 'stopped' }
  | { kind: 'error'; message: string };

/** The environment of SendMessageFunction's sandboxes, for loading the layer in a poster worker. */
function layerEnv(runtime: LocalRuntime): Record<string, string> {
  const fn = runtime.template.functions.get('SendMessageFunction');
  return {
    ...fn?.environment,
    NODE_OPTIONS: '',
    CONNECTIONS_TABLE: runtime.tables.ConnectionsTable ?? '',
    MESSAGES_TABLE: runtime.tables.MessagesTable ?? '',
    CONNECTIONS_URL: runtime.connectionsUrl,
    AWS_ENDPOINT_URL_DYNAMODB: runtime.dynamodbEndpoint,
    AWS_LAMBDA_FUNCTION_NAME: fn?.functionName ?? 'SendMessageFunction',
    AWS_SAM_LOCAL: 'true',
    POWERTOOLS_DEV: 'true',
  };
}

/** Waits until no function has been invoked for `quietMs` (presence flushes come a second after joins and leaves). */
async function quiet(runtime: LocalRuntime, quietMs = 1_500, timeoutMs = 10_000): Promise<void> {
  const total = (): number => Object.values(runtime.stats()).reduce((sum, s) => sum + s.invocations, 0);
  const deadline = Date.now() + timeoutMs;
  let last = total();
  let since = Date.now();
  while (Date.now() - since < quietMs && Date.now() < deadline) {
    await sleep(100);
    if (total() !== last) [last, since] = [total(), Date.now()];
  }
}

/** The child's reading, once $connect has run `connects` times (and, if `drained`, $disconnect as often). */
async function reading(runtime: LocalRuntime, connects: number, drained: boolean): Promise<ProcessMemory> {
  const stats = (): ReturnType<LocalRuntime['stats']> => runtime.stats();
  const deadline = Date.now() + 30_000;
  while ((stats().ConnectFunction?.invocations ?? 0) < connects) {
    if (Date.now() > deadline) throw new Error(`$connect ran ${stats().ConnectFunction?.invocations ?? 0} times, not ${connects}`);
    await sleep(50);
  }
  if (drained && !(await drainDisconnects(runtime, 30_000))) throw new Error('$disconnect did not catch up with $connect');
  await quiet(runtime);
  if (!globalThis.gc) throw new Error('the runtime process has no gc() (--expose-gc)');
  globalThis.gc();
  const { rss, heapUsed } = process.memoryUsage();
  return { rssBytes: rss, heapUsedBytes: heapUsed, sandboxes: Object.values(stats()).reduce((sum, s) => sum + s.coldStarts, 0) };
}

/** The child: starts the runtime, answers `measure` with a reading, and on `stop` (or when the parent goes) shuts down. */
async function runtimeChild(): Promise<void> {
  const send = (message: FromChild): void => void process.send?.(message);
  const maxConcurrency = Number(process.argv[2]) || undefined;
  let runtime: LocalRuntime;
  try {
    runtime = await startRuntime(maxConcurrency ? { maxConcurrency } : {});
  } catch (error: unknown) {
    send({ kind: 'error', message: `starting the runtime: ${String(error)}` });
    process.exit(1);
  }
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= stopRuntime(runtime, [], 20_000));
  process.on('disconnect', () => void stop().finally(() => process.exit(0)));
  process.on('message', (message: ToChild) => {
    const work = message.kind === 'stop'
      ? stop().then((): FromChild => ({ kind: 'stopped' }))
      : reading(runtime, message.connects, message.drained).then((memory): FromChild => ({ kind: 'reading', memory }));
    work.then(send, (error: unknown) => send({ kind: 'error', message: String(error) }));
  });
  send({ kind: 'ready', wsUrl: runtime.wsUrl, layerEnv: layerEnv(runtime) });
}

if (process.env[CHILD] && process.send) {
  delete process.env[CHILD];
  void runtimeChild();
}

/** The runtime in a child process; one request and one answer at a time. */
class RuntimeProcess {
  private readonly child: ChildProcess;

  constructor() {
    this.child = fork(__filename, [String(runtimeDefaults.maxConcurrency ?? '')], {
      execArgv: ['--import', pathToFileURL(require.resolve('tsx')).href, '--expose-gc'],
      env: { ...process.env, [CHILD]: '1' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
  }

  /** Sends `message` (if any) and resolves with the child's next answer of that `kind`. */
  async ask<K extends FromChild['kind']>(kind: K, message: ToChild | undefined, timeoutMs: number): Promise<Extract<FromChild, { kind: K }>> {
    let off = (): void => undefined;
    const answer = new Promise<FromChild>((resolve, reject) => {
      const onMessage = (m: FromChild): void => (m.kind === 'error' ? reject(new Error(m.message)) : resolve(m));
      const onExit = (code: number | null): void => reject(new Error(`the runtime process exited (${code})`));
      this.child.on('message', onMessage).on('exit', onExit);
      off = () => void this.child.off('message', onMessage).off('exit', onExit);
    });
    if (message) this.child.send(message);
    const m = await within(timeoutMs, `the runtime process (${kind})`, answer).finally(off);
    if (m.kind !== kind) throw new Error(`the runtime process answered ${m.kind}, not ${kind}`);
    return m as Extract<FromChild, { kind: K }>;
  }

  /** Lets it shut the runtime down, killing it if that fails or takes over 25 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await this.ask('stopped', { kind: 'stop' }, 25_000).catch(() => undefined);
    this.child.disconnect();
    await within(5_000, 'the runtime process exiting', exited).catch(() => this.child.kill('SIGKILL'));
  }
}

const perKb = (bytes: number, count: number): number => Math.round((bytes / count / 1024) * 10) / 10;

/** Measures the runtime's memory with `plan.connections` open, then a sandbox's fan-out to `plan.fanoutRecipients`. */
export async function measureMemory(plan: MemoryPlan, log: (message: string) => void): Promise<MemoryResult> {
  const started = performance.now();
  const runtime = new RuntimeProcess();
  const sockets: WebSocket[] = [];
  const posters: Poster[] = [];
  const connect = async (count: number, url: (i: number) => string): Promise<WebSocket[]> => {
    const opened = await connectMany(url, count);
    sockets.push(...opened);
    return opened;
  };
  try {
    const { wsUrl, layerEnv: env } = await runtime.ask('ready', undefined, 60_000);
    const member = (i: number): string => `${wsUrl}?room=mem${i % plan.rooms}&name=m${i}`;
    const warm = Math.min(32, plan.connections);
    log(`memory: runtime in a child process; warm-up of ${warm} connects, then ${plan.connections} connections in ${plan.rooms} rooms`);
    await closeAll(await connect(warm, (i) => member(plan.connections + i)));
    const idle = (await runtime.ask('reading', { kind: 'measure', connects: warm, drained: true }, 60_000)).memory;
    await connect(plan.connections, member);
    const connected = (await runtime.ask('reading', { kind: 'measure', connects: warm + plan.connections, drained: false }, 60_000)).memory;

    log(`memory: a sandbox's fan-out to ${plan.fanoutRecipients} recipients`);
    await connect(plan.fanoutRecipients, (i) => `${wsUrl}?room=memfanout&name=f${i}`);
    const [layer, base] = await Promise.all([startPoster(PROJECT_DIR, { layer: plan.layerDir }, env), startPoster(PROJECT_DIR)]);
    posters.push(layer, base);
    const sampled = async (collect: boolean): Promise<{ delivered: number; heap: HeapReading }> => {
      const reply = await layer.run({ kind: 'layerHeap', room: 'memfanout', text: `memory ${collect}`, intervalMs: collect ? 10 : 2, collect });
      if (!reply.heap) throw new Error('the poster worker sent no heap reading');
      return { delivered: reply.delivered, heap: reply.heap };
    };
    await layer.run({ kind: 'layer', room: 'memfanout', text: 'memory warm-up' });
    const peak = await sampled(false);
    const live = await sampled(true);
    const baseHeap = (await base.run({ kind: 'heap' })).heap?.before ?? Number.NaN;
    const n = plan.fanoutRecipients;
    const result: MemoryResult = {
      runtime: {
        connections: plan.connections,
        rooms: plan.rooms,
        idle,
        connected,
        rssPerConnectionKb: perKb(connected.rssBytes - idle.rssBytes, plan.connections),
        heapPerConnectionKb: perKb(connected.heapUsedBytes - idle.heapUsedBytes, plan.connections),
      },
      fanout: {
        recipients: n,
        delivered: Math.min(peak.delivered, live.delivered),
        idleHeapBytes: peak.heap.before,
        baseHeapBytes: baseHeap,
        peakGrowthBytes: peak.heap.peak - peak.heap.before,
        liveGrowthBytes: live.heap.peak - live.heap.before,
        afterQueryGrowthBytes: live.heap.afterQuery - live.heap.before,
        peakBytesPerRecipient: Math.round((peak.heap.peak - peak.heap.before) / n),
        liveBytesPerRecipient: Math.round((live.heap.peak - live.heap.before) / n),
      },
      seconds: 0,
    };
    result.seconds = (performance.now() - started) / 1000;
    return result;
  } finally {
    await Promise.all(posters.map((p) => p.close()));
    await closeAll(sockets);
    await runtime.stop();
  }
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MiB`;
const signedMib = (bytes: number): string => `${bytes < 0 ? '−' : '+'}${mib(Math.abs(bytes))}`;
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const count = (n: number): string => n.toLocaleString('en-US');

/** The figures in a few lines, for the terminal and the report. */
export function memoryLines(r: MemoryResult): string[] {
  const { idle, connected } = r.runtime;
  const f = r.fanout;
  const extra = connected.sandboxes - idle.sandboxes;
  return [
    `runtime with ${count(r.runtime.connections)} connections in ${r.runtime.rooms} rooms: ` +
      `RSS ${mib(connected.rssBytes)} (${signedMib(connected.rssBytes - idle.rssBytes)}, ${r.runtime.rssPerConnectionKb} KiB per connection), ` +
      `main-thread heap ${mib(connected.heapUsedBytes)} (${signedMib(connected.heapUsedBytes - idle.heapUsedBytes)}, ${r.runtime.heapPerConnectionKb} KiB per connection)`,
    `runtime idle, ${idle.sandboxes} sandboxes warm: RSS ${mib(idle.rssBytes)}, main-thread heap ${mib(idle.heapUsedBytes)}` +
      (extra > 0 ? `; ${extra} more sandbox(es) started for the connections, counted per connection` : ''),
    `sandbox fan-out to ${count(f.recipients)} recipients (chat-core broadcast()): heap ${signedMib(f.peakGrowthBytes)} at its peak ` +
      `(${kb(f.peakBytesPerRecipient)} per recipient), ${signedMib(f.liveGrowthBytes)} live after GC (${kb(f.liveBytesPerRecipient)} per recipient; ` +
      `${signedMib(f.afterQueryGrowthBytes)} once the room is read)`,
    `idle sandbox with the layer loaded: heap ${mib(f.idleHeapBytes)} (${mib(f.baseHeapBytes)} of it the worker without the layer)`,
  ];
}
