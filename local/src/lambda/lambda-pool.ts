/**
 * Local Lambda functions: each function gets a pool of sandboxes, each sandbox a worker_threads
 * Worker running lambda-worker.ts. A sandbox serves one invocation at a time; more concurrent
 * invocations start more sandboxes (up to a limit), idle ones are reused (warm starts). A timed
 * out or crashed sandbox is thrown away, as Lambda does.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { InvokeMessage, LambdaError, WorkerData, WorkerMessage } from './lambda-worker.js';

export type { LambdaError };

export interface InvokeOutcome {
  requestId: string;
  /** The handler's return value, JSON round-tripped as Lambda does; undefined when it returned nothing. */
  payload?: unknown;
  error?: LambdaError;
  durationMs: number;
  /** Set on a cold start: how long loading the handler took. */
  initMs?: number;
}

export interface FunctionSandboxConfig {
  functionName: string;
  workerScript: string;
  workerData: WorkerData;
  env: Record<string, string>;
  /** Each invocation gets a sampled trace of its own (`_X_AMZN_TRACE_ID`), as Lambda gives a function of `Tracing: Active`. */
  traced?: boolean;
  timeoutMs: number;
  memoryMb: number;
  maxConcurrency: number;
  /** Where the functions' console output goes; undefined discards it. */
  output?: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };
}

/** A new trace's header as Lambda sets it: Root=1-<epoch seconds, hex>-<96 random bits>;Parent=<64 bits>;Sampled=1. */
export function newTraceHeader(now = Date.now()): string {
  const seconds = Math.floor(now / 1000)
    .toString(16)
    .padStart(8, '0');
  return `Root=1-${seconds}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=1`;
}

class Sandbox {
  readonly worker: Worker;
  readonly ready: Promise<number>;
  dead = false;
  private initReported = false;
  private pending: { id: number; resolve: (m: WorkerMessage) => void } | undefined;
  private nextId = 0;
  private exitError: LambdaError | undefined;

  constructor(private readonly config: FunctionSandboxConfig) {
    this.worker = new Worker(config.workerScript, {
      workerData: config.workerData,
      env: config.env,
      execArgv: [],
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: Math.max(64, config.memoryMb) },
    });
    this.forward(this.worker.stdout, config.output?.stdout);
    this.forward(this.worker.stderr, config.output?.stderr);
    this.ready = new Promise((resolve, reject) => {
      this.worker.on('message', (msg: WorkerMessage) => {
        if (msg.type === 'ready') resolve(msg.initMs);
        else if (msg.type === 'init-error') reject(msg.error);
        else if (this.pending?.id === msg.id) this.pending.resolve(msg);
      });
      this.worker.on('error', (e: Error) => {
        this.exitError = { errorType: 'Runtime.ExitError', errorMessage: `Runtime exited with error: ${e.message}` };
      });
      this.worker.on('exit', (code) => {
        this.dead = true;
        const error = this.exitError ?? { errorType: 'Runtime.ExitError', errorMessage: `Runtime exited with error: exit status ${code}` };
        reject(error);
        this.pending?.resolve({ type: 'error', id: this.pending.id, error });
      });
    });
    this.ready.catch(() => undefined);
  }

  private forward(stream: Readable, to: NodeJS.WritableStream | undefined): void {
    if (to) stream.on('data', (chunk: Buffer) => to.write(chunk));
    else stream.resume();
  }

  /** `timeoutMs` cuts this invocation's time short (an injected timeout); the function's Timeout otherwise. */
  async invoke(event: unknown, requestId: string, timeoutMs = this.config.timeoutMs): Promise<InvokeOutcome> {
    const started = performance.now();
    let initMs: number | undefined;
    try {
      const ms = await this.ready;
      if (!this.initReported) initMs = ms;
    } catch (e: unknown) {
      this.dead = true;
      void this.worker.terminate();
      return { requestId, error: e as LambdaError, durationMs: performance.now() - started };
    }
    this.initReported = true;
    if (this.dead) {
      const error = this.exitError ?? { errorType: 'Runtime.ExitError', errorMessage: 'Runtime exited' };
      return { requestId, error, durationMs: performance.now() - started };
    }
    const invokeStarted = performance.now();
    const id = ++this.nextId;
    const deadline = Date.now() + timeoutMs;
    const message: InvokeMessage = {
      type: 'invoke',
      id,
      event: JSON.stringify(event),
      requestId,
      deadline,
      ...(this.config.traced && { traceHeader: newTraceHeader() }),
    };
    let timer: NodeJS.Timeout | undefined;
    const reply = await new Promise<WorkerMessage>((resolve) => {
      this.pending = { id, resolve };
      const timedOut = (): void => {
        this.dead = true;
        void this.worker.terminate();
        const seconds = (this.config.timeoutMs / 1000).toFixed(2);
        resolve({ type: 'error', id, error: { errorType: 'Sandbox.Timedout', errorMessage: `Task timed out after ${seconds} seconds` } });
      };
      // No time at all (an injected timeout at once): the handler never runs, however fast it would be.
      if (timeoutMs <= 0) return timedOut();
      timer = setTimeout(timedOut, timeoutMs);
      this.worker.postMessage(message);
    });
    clearTimeout(timer);
    this.pending = undefined;
    const durationMs = performance.now() - invokeStarted;
    const base = { requestId, durationMs, ...(initMs === undefined ? {} : { initMs }) };
    if (reply.type === 'result') return { ...base, payload: reply.payload === undefined ? undefined : JSON.parse(reply.payload) };
    if (reply.type === 'error') return { ...base, error: reply.error };
    return { ...base, error: { errorType: 'Runtime.Unknown', errorMessage: 'unexpected reply from the sandbox' } };
  }
}

/** The sandboxes of one function. */
export class FunctionPool {
  private readonly idle: Sandbox[] = [];
  private readonly all = new Set<Sandbox>();
  private readonly waiting: { resolve: (s: Sandbox) => void; reject: (e: Error) => void }[] = [];
  private closed = false;
  private inFlight = 0;

  constructor(readonly config: FunctionSandboxConfig) {}

  /** Starts one sandbox ahead of the first invocation; resolves once it is initialised (or failed). */
  async warm(): Promise<void> {
    if (this.all.size > 0 || this.closed) return;
    const sandbox = this.spawn();
    this.idle.push(sandbox);
    await sandbox.ready.then(
      () => undefined,
      () => undefined,
    );
  }

  private spawn(): Sandbox {
    const sandbox = new Sandbox(this.config);
    this.all.add(sandbox);
    sandbox.worker.on('exit', () => {
      this.all.delete(sandbox);
      const at = this.idle.indexOf(sandbox);
      if (at >= 0) this.idle.splice(at, 1);
    });
    return sandbox;
  }

  private acquire(): Promise<Sandbox> {
    if (this.closed) return Promise.reject(new Error(`${this.config.functionName}: the runtime is shut down`));
    const sandbox = this.idle.pop();
    if (sandbox) return Promise.resolve(sandbox);
    if (this.all.size < this.config.maxConcurrency) return Promise.resolve(this.spawn());
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private release(sandbox: Sandbox): void {
    if (sandbox.dead || this.closed) {
      this.all.delete(sandbox);
      const waiter = this.closed ? undefined : this.waiting.shift();
      if (waiter) waiter.resolve(this.spawn());
      return;
    }
    const next = this.waiting.shift();
    if (next) next.resolve(sandbox);
    else this.idle.push(sandbox);
  }

  /** Runs one invocation; never rejects (failures are outcomes with an error, as Lambda reports them). */
  async invoke(event: unknown, requestId: string = randomUUID(), options: { timeoutMs?: number } = {}): Promise<InvokeOutcome> {
    this.inFlight += 1;
    const started = performance.now();
    try {
      let sandbox: Sandbox;
      try {
        sandbox = await this.acquire();
      } catch (e: unknown) {
        const error = { errorType: 'Runtime.Unavailable', errorMessage: (e as Error).message };
        return { requestId, error, durationMs: performance.now() - started };
      }
      try {
        return await sandbox.invoke(event, requestId, options.timeoutMs);
      } finally {
        this.release(sandbox);
      }
    } finally {
      this.inFlight -= 1;
    }
  }

  /** Closes the pool once the invocations it has (running or queued) are done: after a reload. */
  async retire(): Promise<void> {
    while (this.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    await this.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter.reject(new Error(`${this.config.functionName}: the runtime is shut down`));
    const sandboxes = [...this.all];
    this.all.clear();
    this.idle.length = 0;
    await Promise.all(sandboxes.map((s) => s.worker.terminate()));
  }
}
