import { z } from 'zod';

/**
 * Everything the functions read from their environment, validated once when the
 * layer is first loaded (Lambda's init phase), so a misconfigured stack fails at
 * start-up with one clear message instead of on the first message.
 */
const environment = z.object({
  CONNECTIONS_TABLE: z.string().min(1),
  MESSAGES_TABLE: z.string().min(1),
  /** Management API endpoint including the stage, e.g. https://abc.execute-api.eu-west-1.amazonaws.com/production */
  CONNECTIONS_URL: z.url({ protocol: /^https?$/ }),
  MAX_MESSAGE_BYTES: z.coerce.number().int().min(1).max(30000).default(4096),
  MESSAGE_RETENTION_DAYS: z.coerce.number().int().min(1).max(365).default(7),
  MESSAGE_RATE_LIMIT: z.coerce.number().int().min(1).default(20),
  /** Most Management API posts in flight at once during a broadcast. */
  FANOUT_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(100),
  /** Rooms with more recipients than this are fanned out through the queue, in shards. */
  FANOUT_THRESHOLD: z.coerce.number().int().min(1).default(1000),
  /** Recipients per shard message on the fan-out queue. */
  FANOUT_SHARD_SIZE: z.coerce.number().int().min(1).max(5000).default(500),
  /** The fan-out queue; without it large rooms are served directly. */
  FANOUT_QUEUE_URL: z.url().optional(),
  /** Upper bound on a single Management API call, retries included. */
  POST_TIMEOUT_MS: z.coerce.number().int().min(100).default(3000),
});

export type Config = z.infer<typeof environment>;

export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = environment.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`chat-core: invalid environment (${problems.join('; ')})`);
  }
  return parsed.data;
}

export const config: Config = loadConfig(process.env);

/** Connections expire a margin after API Gateway's 2-hour connection limit. */
export const CONNECTION_TTL_SECONDS = 2 * 60 * 60 + 15 * 60;
/** MESSAGE_RATE_LIMIT messages per this many seconds, as a burst or spread out (see recordMessageSent). */
export const RATE_WINDOW_SECONDS = 10;
