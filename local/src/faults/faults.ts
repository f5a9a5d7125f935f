/**
 * Faults injected by the local runtime (off unless asked for): what AWS does on a bad day, so
 * that the handlers' answer to it can be tested locally.
 *
 * - Management API posts (PostToConnection from a function): a share answered 410 Gone (the
 *   connection is then really gone: the runtime drops it, the client sees 1006 and $disconnect
 *   runs, as for a client whose network vanished), 429 LimitExceededException or 500; and
 *   `latencyMs`: every post answered that much later (a slow Management API).
 * - DynamoDB calls from a function: a share answered ProvisionedThroughputExceededException,
 *   ThrottlingException (both 400) or 500 InternalServerError, before they reach the store (so
 *   a faulted call has no effect); `down` makes the store unreachable for every caller (each
 *   request's connection is reset, as if the store had stopped).
 * - Handler timeouts: a share of invocations run out of time after `afterMs` (default at once):
 *   the sandbox is ended as Lambda ends a function that reaches its Timeout.
 *
 * A share is chosen per logical call (the SDK's amz-sdk-invocation-id): the chosen call fails
 * on its first `attempts` attempts (default 1) and then goes through, which is what a transient
 * throttle looks like to the SDK's retries. With `attempts` at the SDK's maxAttempts or more it
 * never goes through. Choices come from a seeded generator: the same seed and the same traffic
 * give the same faults.
 *
 * `npm start` takes them from LOCAL_FAULTS (or --faults): spec.ts.
 */

import type { IncomingHttpHeaders } from 'node:http';
import type { DynamoDbFault, FaultOptions, PostFault } from './spec.js';

export type { DynamoDbFault, FaultOptions, PostFault } from './spec.js';

export interface FaultKindStats {
  /** Logical calls that reached the fault injector (retries not counted again). */
  calls: number;
  /** Attempts answered with a fault, by kind. */
  injected: Record<string, number>;
  /** Attempts answered with a fault, by calling function (logical id). */
  injectedBy: Record<string, number>;
  /** Logical calls that were faulted at least once. */
  faultedCalls: number;
  /** Faulted calls whose later attempt went through (the SDK retried). */
  recovered: number;
  /** Milliseconds between a faulted attempt and the retry that followed (min, median, max). */
  retryDelayMs: { min: number; median: number; max: number } | undefined;
}

export interface FaultStats {
  post: FaultKindStats;
  dynamodb: FaultKindStats;
  /** Invocations made to time out, per function. */
  timeouts: Record<string, number>;
  /** Requests refused while the store was down. */
  storeDownRequests: number;
}

/** mulberry32: small, fast, seedable. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The attempt number and invocation id the SDK puts on each request (amz-sdk-request, amz-sdk-invocation-id). */
export function sdkAttempt(headers: Record<string, string | string[] | undefined>): { invocationId?: string; attempt: number } {
  const request = String(headers['amz-sdk-request'] ?? '');
  const attempt = Number(/attempt=(\d+)/.exec(request)?.[1] ?? 1);
  const id = headers['amz-sdk-invocation-id'];
  return { invocationId: typeof id === 'string' ? id : undefined, attempt };
}

interface Tracked {
  kind: string;
  failuresLeft: number;
  lastFaultAt: number;
  recovered: boolean;
}

class FaultTrack<K extends string> {
  readonly stats: FaultKindStats = { calls: 0, injected: {}, injectedBy: {}, faultedCalls: 0, recovered: 0, retryDelayMs: undefined };
  private readonly calls = new Map<string, Tracked>();
  private readonly delays: number[] = [];

  /**
   * The fault for this attempt, if any. `choose` draws the kind for a new logical call;
   * `attempts` is how many of its attempts fail; `functionId` is the caller.
   */
  decide(
    headers: Record<string, string | string[] | undefined>,
    choose: () => K | undefined,
    attempts: number,
    functionId: string,
  ): K | undefined {
    const { invocationId, attempt } = sdkAttempt(headers);
    const tracked = invocationId ? this.calls.get(invocationId) : undefined;
    if (tracked) {
      if (tracked.failuresLeft > 0) {
        tracked.failuresLeft -= 1;
        this.delays.push(Date.now() - tracked.lastFaultAt);
        tracked.lastFaultAt = Date.now();
        this.count(tracked.kind, functionId);
        return tracked.kind as K;
      }
      if (!tracked.recovered) {
        tracked.recovered = true;
        this.stats.recovered += 1;
        this.delays.push(Date.now() - tracked.lastFaultAt);
      }
      return undefined;
    }
    if (attempt > 1 && invocationId) return undefined; // a retry of a call seen before tracking began
    this.stats.calls += 1;
    const kind = choose();
    if (kind === undefined) return undefined;
    this.stats.faultedCalls += 1;
    this.count(kind, functionId);
    if (invocationId) {
      if (this.calls.size > 50_000) this.calls.clear();
      this.calls.set(invocationId, { kind, failuresLeft: Math.max(0, attempts - 1), lastFaultAt: Date.now(), recovered: false });
    }
    return kind;
  }

  /** A call that will not be retried (410): it is not waited for. */
  final(headers: Record<string, string | string[] | undefined>): void {
    const { invocationId } = sdkAttempt(headers);
    if (invocationId) this.calls.delete(invocationId);
  }

  private count(kind: string, functionId: string): void {
    this.stats.injected[kind] = (this.stats.injected[kind] ?? 0) + 1;
    this.stats.injectedBy[functionId] = (this.stats.injectedBy[functionId] ?? 0) + 1;
  }

  snapshot(): FaultKindStats {
    const sorted = [...this.delays].sort((a, b) => a - b);
    return {
      ...this.stats,
      injected: { ...this.stats.injected },
      injectedBy: { ...this.stats.injectedBy },
      retryDelayMs:
        sorted.length === 0
          ? undefined
          : {
              min: sorted[0] as number,
              median: sorted[Math.floor(sorted.length / 2)] as number,
              max: sorted[sorted.length - 1] as number,
            },
    };
  }
}

/**
 * The faults a service's calls can be answered with, as data: each kind is chosen by its share
 * in the service's options (FaultOptions.post.gone, ...); each service's door says how it
 * answers each (apigateway/management-door.ts, dynamodb/store-door.ts).
 */
const CALL_FAULTS = {
  post: ['gone', 'throttle', 'error'],
  dynamodb: ['throughput', 'throttling', 'error'],
} as const satisfies Record<string, readonly (PostFault | DynamoDbFault)[]>;

type CallService = keyof typeof CALL_FAULTS;
type CallFault<S extends CallService> = (typeof CALL_FAULTS)[S][number];

const newTracks = (): { [S in CallService]: FaultTrack<CallFault<S>> } => ({
  post: new FaultTrack<PostFault>(),
  dynamodb: new FaultTrack<DynamoDbFault>(),
});

export class Faults {
  private options: FaultOptions = {};
  private random: () => number = generator(1);
  private tracks = newTracks();
  private timeouts: Record<string, number> = {};
  private storeDown = 0;

  constructor(options: FaultOptions = {}) {
    this.set(options);
  }

  /** Replaces the faults (and restarts the generator from the seed); counters are kept. */
  set(options: FaultOptions): void {
    this.options = structuredClone(options);
    this.random = generator(options.seed ?? 1);
  }

  get current(): FaultOptions {
    return structuredClone(this.options);
  }

  /** True when some fault is configured. */
  get active(): boolean {
    const { post, dynamodb, timeout } = this.options;
    return Boolean(
      (post && (post.gone || post.throttle || post.error || post.latencyMs)) ||
      (dynamodb && (dynamodb.throughput || dynamodb.throttling || dynamodb.error || dynamodb.down)) ||
      (timeout && timeout.share),
    );
  }

  private pick<K extends string>(shares: [K, number | undefined][]): K | undefined {
    const r = this.random();
    let sum = 0;
    for (const [kind, share] of shares) {
      sum += share ?? 0;
      if (r < sum) return kind;
    }
    return undefined;
  }

  /** A call's fault, chosen from the service's shares (CALL_FAULTS), if any. */
  private callFault<S extends CallService>(service: S, headers: IncomingHttpHeaders, functionId: string): CallFault<S> | undefined {
    const shares = this.options[service] as Partial<Record<CallFault<S>, number>> & { attempts?: number };
    if (!shares) return undefined;
    const kinds = CALL_FAULTS[service] as readonly CallFault<S>[];
    const track = this.tracks[service] as FaultTrack<CallFault<S>>;
    return track.decide(headers, () => this.pick(kinds.map((kind) => [kind, shares[kind]])), shares.attempts ?? 1, functionId);
  }

  /** The fault for a PostToConnection attempt by a function (logical id), if any. */
  postFault(headers: IncomingHttpHeaders, functionId: string): PostFault | undefined {
    const fault = this.callFault('post', headers, functionId);
    if (fault === 'gone') this.tracks.post.final(headers);
    return fault;
  }

  /** How long a function's post waits before it is answered (0: at once). */
  postLatencyMs(): number {
    return this.options.post?.latencyMs ?? 0;
  }

  /** The fault for a DynamoDB attempt by a function (logical id), if any. */
  dynamodbFault(headers: IncomingHttpHeaders, functionId: string): DynamoDbFault | undefined {
    return this.callFault('dynamodb', headers, functionId);
  }

  /** True while the store is to look stopped (counts the request refused). */
  storeIsDown(): boolean {
    if (!this.options.dynamodb?.down) return false;
    this.storeDown += 1;
    return true;
  }

  /** For an invocation about to start: the timeout to impose (ms), or undefined to run normally. */
  invocationTimeout(functionId: string): number | undefined {
    const t = this.options.timeout;
    if (!t || !t.share) return undefined;
    if (t.functions && !t.functions.includes(functionId)) return undefined;
    if (this.random() >= t.share) return undefined;
    this.timeouts[functionId] = (this.timeouts[functionId] ?? 0) + 1;
    return Math.max(0, t.afterMs ?? 0);
  }

  stats(): FaultStats {
    return {
      post: this.tracks.post.snapshot(),
      dynamodb: this.tracks.dynamodb.snapshot(),
      timeouts: { ...this.timeouts },
      storeDownRequests: this.storeDown,
    };
  }

  /** Forgets the counters. */
  resetStats(): void {
    this.tracks = newTracks();
    this.timeouts = {};
    this.storeDown = 0;
  }
}
