/**
 * What the local runtime can be told to inject (faults.ts carries it out), and the LOCAL_FAULTS
 * (or --faults) spelling of it: `name=value` pairs, each fault one line of FIELDS below.
 *
 *   LOCAL_FAULTS='post429=10%,post500=5%,dynamodbThrottling=10%,timeout=1%,seed=7'
 */

export interface PostFaults {
  /** Share of posts answered 410 GoneException (the connection is dropped). */
  gone?: number;
  /** Share answered 429 LimitExceededException. */
  throttle?: number;
  /** Share answered 500. */
  error?: number;
  /** Attempts of a chosen call that fail before it goes through (default 1). */
  attempts?: number;
  /** Every post by a function is answered this many milliseconds late (a slow Management API). */
  latencyMs?: number;
}

export interface DynamoDbFaults {
  /** Share answered 400 ProvisionedThroughputExceededException. */
  throughput?: number;
  /** Share answered 400 ThrottlingException. */
  throttling?: number;
  /** Share answered 500 InternalServerError. */
  error?: number;
  attempts?: number;
  /** The store is unreachable: every request (from anyone) has its connection reset. */
  down?: boolean;
}

export interface TimeoutFaults {
  /** Share of invocations that time out. */
  share: number;
  /** Only these functions (logical ids); default: every function. */
  functions?: string[];
  /** When the chosen invocation times out (default 0: at once, before it can do anything). */
  afterMs?: number;
}

export interface FaultOptions {
  seed?: number;
  post?: PostFaults;
  dynamodb?: DynamoDbFaults;
  timeout?: TimeoutFaults;
}

export type PostFault = 'gone' | 'throttle' | 'error';
export type DynamoDbFault = 'throughput' | 'throttling' | 'error';

type Parse = (key: string, value: string) => number;

const share: Parse = (key, value) => {
  const n = value.endsWith('%') ? Number(value.slice(0, -1)) / 100 : Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new Error(`LOCAL_FAULTS: ${key} must be a share (0..1 or 0%..100%), got "${value}"`);
  return n;
};
const int: Parse = (key, value) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`LOCAL_FAULTS: ${key} must be a whole number, got "${value}"`);
  return n;
};
const flag = (value: string): boolean => value !== 'false' && value !== '0';

/** Each name LOCAL_FAULTS takes, and where its value goes. */
const FIELDS: Record<string, (options: FaultOptions, value: string, key: string) => void> = {
  seed: (o, v, k) => (o.seed = int(k, v)),
  post410: (o, v, k) => ((o.post ??= {}).gone = share(k, v)),
  post429: (o, v, k) => ((o.post ??= {}).throttle = share(k, v)),
  post500: (o, v, k) => ((o.post ??= {}).error = share(k, v)),
  postAttempts: (o, v, k) => ((o.post ??= {}).attempts = int(k, v)),
  postLatencyMs: (o, v, k) => ((o.post ??= {}).latencyMs = int(k, v)),
  dynamodbThroughput: (o, v, k) => ((o.dynamodb ??= {}).throughput = share(k, v)),
  dynamodbThrottling: (o, v, k) => ((o.dynamodb ??= {}).throttling = share(k, v)),
  dynamodb500: (o, v, k) => ((o.dynamodb ??= {}).error = share(k, v)),
  dynamodbAttempts: (o, v, k) => ((o.dynamodb ??= {}).attempts = int(k, v)),
  dynamodbDown: (o, v) => ((o.dynamodb ??= {}).down = flag(v)),
  timeout: (o, v, k) => (o.timeout = { ...o.timeout, share: share(k, v) }),
  timeoutFunctions: (o, v) => (o.timeout = { share: 0, ...o.timeout, functions: v.split('+').filter(Boolean) }),
  timeoutAfterMs: (o, v, k) => (o.timeout = { share: 0, ...o.timeout, afterMs: int(k, v) }),
};

/** Reads `post429=10%,post500=0.05,postLatencyMs=500,dynamodbThrottling=10%,timeout=1%,timeoutFunctions=A+B,seed=7` (LOCAL_FAULTS). */
export function parseFaults(spec: string | undefined): FaultOptions | undefined {
  if (!spec || !spec.trim()) return undefined;
  const options: FaultOptions = { post: {}, dynamodb: {} };
  for (const pair of spec.split(/[,\s]+/).filter(Boolean)) {
    const at = pair.indexOf('=');
    const key = at < 0 ? pair : pair.slice(0, at);
    const set = FIELDS[key];
    if (!set)
      throw new Error(
        `LOCAL_FAULTS: unknown fault "${key}" (${[...Object.keys(FIELDS).filter((name) => name !== 'seed'), 'seed'].join(', ')})`,
      );
    set(options, at < 0 ? 'true' : pair.slice(at + 1), key);
  }
  return options;
}

/** One line for the banner: what is injected. */
export function describeFaults(options: FaultOptions): string {
  const pct = (n: number | undefined): string => `${Math.round((n ?? 0) * 1000) / 10}%`;
  const parts: string[] = [];
  const { post, dynamodb, timeout } = options;
  if (post?.gone) parts.push(`${pct(post.gone)} posts 410`);
  if (post?.throttle) parts.push(`${pct(post.throttle)} posts 429`);
  if (post?.error) parts.push(`${pct(post.error)} posts 500`);
  if (post?.latencyMs) parts.push(`posts ${post.latencyMs} ms late`);
  if (dynamodb?.throughput) parts.push(`${pct(dynamodb.throughput)} DynamoDB ProvisionedThroughputExceeded`);
  if (dynamodb?.throttling) parts.push(`${pct(dynamodb.throttling)} DynamoDB Throttling`);
  if (dynamodb?.error) parts.push(`${pct(dynamodb.error)} DynamoDB 500`);
  if (dynamodb?.down) parts.push('DynamoDB down');
  if (timeout?.share)
    parts.push(`${pct(timeout.share)} invocations time out${timeout.functions ? ` (${timeout.functions.join(', ')})` : ''}`);
  return parts.join(', ');
}
