/**
 * Memory: what the local runtime holds per open connection, and what a
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
import type { LocalRuntime } from 'sam-websocket-local';
import { startPoster, type Poster } from '../floors/poster';
import type { HeapReading } from '../floors/poster-worker';
import { closeAll, connectMany } from '../harness/clients';
import { drainDisconnects, layerEnv, PROJECT_DIR, runtimeDefaults, startRuntime, stopRuntime } from '../harness/runtime';
import { sleep, within } from '../harness/stats';

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
  /**
   * Once they all closed and $disconnect ran for each. Its RSS shows what of the growth was not
   * held by the connections: the sandboxes' heaps grow with the work they do, and nothing
   * collects them from here (in the runs so far the RSS went on growing after the close).
   */
  afterClose: ProcessMemory;
  /** (connected − idle) / connections, in KiB: held by the connections or left by the sandboxes' work (see afterClose). */
  rssPerConnectionKb: number;
  /** The same for the main thread's heap, which is GC'd: what the gateway and the store hold per connection. */
  heapPerConnectionKb: number;
}

/**
 * A sandbox's fan-out: broadcast() of one chat message to `recipients` plain connections of one
 * room (the room query, then the posts, `concurrency` in flight), in a worker warmed up by one
 * broadcast. The live growth is the recipient list (per recipient) plus the posts in flight (a
 * fixed part, bounded by `concurrency`), so its share per recipient falls as rooms grow.
 */
export interface FanoutMemory {
  recipients: number;
  delivered: number;
  /** Most posts in flight at once (SendMessageFunction's FANOUT_CONCURRENCY). */
  concurrency: number;
  /** The warm worker's heap after a GC, with the layer loaded (bytes). */
  idleHeapBytes: number;
  /** The same worker without the layer, after a GC: Node.js and the poster's own SDK clients, which a real sandbox has not (bytes). */
  baseHeapBytes: number;
  /** Largest heap in use sampled during the broadcast, less idleHeapBytes: live objects and garbage not yet collected (bytes). */
  peakGrowthBytes: number;
  /** Largest live heap (a GC before each sample) during a second broadcast, less its GC'd start (bytes). */
  liveGrowthBytes: number;
  /** Live growth right after the room query (the recipient list read, no post started yet) (bytes). */
  afterQueryGrowthBytes: number;
  /** peakGrowthBytes / recipients. */
  peakBytesPerRecipient: number;
  /** liveGrowthBytes / recipients. */
  liveBytesPerRecipient: number;
  /** afterQueryGrowthBytes / recipients: the recipient list alone. */
  listBytesPerRecipient: number;
  /** (liveGrowthBytes − afterQueryGrowthBytes) / posts in flight (min(concurrency, recipients)): what one post in flight holds. */
  bytesPerPostInFlight: number;
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

/**
 * The child: starts the runtime, answers `measure` with a reading, and on `stop`, or when the
 * parent goes (its IPC channel closes), shuts it down. Listens before the runtime is up, so
 * that nothing the parent sends meanwhile is lost.
 */
function runtimeChild(): void {
  const send = (message: FromChild, then?: () => void): void => void process.send?.(message, undefined, undefined, then);
  const maxConcurrency = Number(process.argv[2]) || undefined;
  const starting = startRuntime(maxConcurrency ? { maxConcurrency } : {});
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= starting.then((runtime) => stopRuntime(runtime, [], 20_000)));
  process.on(
    'disconnect',
    () =>
      void stop()
        .catch(() => undefined)
        .finally(() => process.exit(0)),
  );
  process.on('message', (message: ToChild) => {
    const work =
      message.kind === 'stop'
        ? stop().then((): FromChild => ({ kind: 'stopped' }))
        : starting
            .then((runtime) => reading(runtime, message.connects, message.drained))
            .then((memory): FromChild => ({ kind: 'reading', memory }));
    work.then(
      (answer) => send(answer),
      (error: unknown) => send({ kind: 'error', message: String(error) }),
    );
  });
  starting.then(
    (runtime) => send({ kind: 'ready', wsUrl: runtime.wsUrl, layerEnv: layerEnv(runtime) }),
    (error: unknown) => send({ kind: 'error', message: `starting the runtime: ${String(error)}` }, () => process.disconnect()),
  );
}

if (process.env[CHILD] && process.send) {
  delete process.env[CHILD];
  runtimeChild();
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
    this.child.on('error', () => undefined); // a failed send or spawn; ask() sees the exit or times out
  }

  /** Sends `message` (if any) and resolves with the child's next answer of that `kind`. */
  async ask<K extends FromChild['kind']>(
    kind: K,
    message: ToChild | undefined,
    timeoutMs: number,
  ): Promise<Extract<FromChild, { kind: K }>> {
    if (message && !this.child.connected) throw new Error('the runtime process is gone');
    let off = (): void => undefined;
    const answer = new Promise<FromChild>((resolve, reject) => {
      const onMessage = (m: FromChild): void => (m.kind === 'error' ? reject(new Error(m.message)) : resolve(m));
      const onExit = (code: number | null): void => reject(new Error(`the runtime process exited (${code})`));
      const onError = (error: Error): void => reject(error);
      this.child.on('message', onMessage).on('exit', onExit).on('error', onError);
      off = () => void this.child.off('message', onMessage).off('exit', onExit).off('error', onError);
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
    if (this.child.connected) this.child.disconnect();
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
    const members = await connect(plan.connections, member);
    const connects = warm + plan.connections;
    const connected = (await runtime.ask('reading', { kind: 'measure', connects, drained: false }, 60_000)).memory;
    await closeAll(members);
    const afterClose = (await runtime.ask('reading', { kind: 'measure', connects, drained: true }, 60_000)).memory;

    log(`memory: a sandbox's fan-out to ${plan.fanoutRecipients} recipients`);
    await connect(plan.fanoutRecipients, (i) => `${wsUrl}?room=memfanout&name=f${i}`);
    const [layer, base] = await Promise.all([startPoster(PROJECT_DIR, { layer: plan.layerDir }, env), startPoster(PROJECT_DIR)]);
    posters.push(layer, base);
    const sampled = async (collect: boolean): Promise<{ delivered: number; heap: HeapReading }> => {
      const reply = await layer.run({
        kind: 'layerHeap',
        room: 'memfanout',
        text: `memory ${collect}`,
        intervalMs: collect ? 10 : 2,
        collect,
      });
      if (!reply.heap) throw new Error('the poster worker sent no heap reading');
      return { delivered: reply.delivered, heap: reply.heap };
    };
    await layer.run({ kind: 'layer', room: 'memfanout', text: 'memory warm-up' });
    const peak = await sampled(false);
    const live = await sampled(true);
    const baseHeap = (await base.run({ kind: 'heap' })).heap?.before ?? Number.NaN;
    const n = plan.fanoutRecipients;
    const concurrency = Number(env.FANOUT_CONCURRENCY ?? 100); // chat-core's default
    const perConnection = (key: 'rssBytes' | 'heapUsedBytes'): number => perKb(connected[key] - idle[key], plan.connections);
    const result: MemoryResult = {
      runtime: {
        connections: plan.connections,
        rooms: plan.rooms,
        idle,
        connected,
        afterClose,
        rssPerConnectionKb: perConnection('rssBytes'),
        heapPerConnectionKb: perConnection('heapUsedBytes'),
      },
      fanout: {
        recipients: n,
        delivered: Math.min(peak.delivered, live.delivered),
        concurrency,
        idleHeapBytes: peak.heap.before,
        baseHeapBytes: baseHeap,
        peakGrowthBytes: peak.heap.peak - peak.heap.before,
        liveGrowthBytes: live.heap.peak - live.heap.before,
        afterQueryGrowthBytes: live.heap.afterQuery - live.heap.before,
        peakBytesPerRecipient: Math.round((peak.heap.peak - peak.heap.before) / n),
        liveBytesPerRecipient: Math.round((live.heap.peak - live.heap.before) / n),
        listBytesPerRecipient: Math.round((live.heap.afterQuery - live.heap.before) / n),
        bytesPerPostInFlight: Math.round((live.heap.peak - live.heap.afterQuery) / Math.min(concurrency, n)),
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
