import * as z from 'zod';

/**
 * The variables template.yaml sets, each on the functions that use it and no other. No
 * default here: the template's parameters are the one place for their values.
 */
const fromTemplate = {
  CONNECTIONS_TABLE: z.string().min(1),
  MESSAGES_TABLE: z.string().min(1),
  /** Management API endpoint including the stage, e.g. https://abc.execute-api.eu-west-1.amazonaws.com/production */
  CONNECTIONS_URL: z.url({ protocol: /^https?$/ }),
  MAX_MESSAGE_BYTES: z.coerce.number().int().min(1).max(30000),
  MESSAGE_RETENTION_DAYS: z.coerce.number().int().min(1).max(365),
  MESSAGE_RATE_LIMIT: z.coerce.number().int().min(1),
  /** The table of token buckets per identity, source IP or connection (rate-limit.ts). */
  RATE_LIMITS_TABLE: z.string().min(1),
  /** Connects per RATE_WINDOW_SECONDS from one identity or source IP. */
  CONNECT_RATE_LIMIT: z.coerce.number().int().min(1),
  /** history, members and $default requests per RATE_WINDOW_SECONDS on one connection. */
  REQUEST_RATE_LIMIT: z.coerce.number().int().min(1),
  /** Messages per RATE_WINDOW_SECONDS from one identity or source IP, over all its connections. */
  IDENTITY_MESSAGE_RATE_LIMIT: z.coerce.number().int().min(1),
  /** Requests per RATE_WINDOW_SECONDS from one identity or source IP, over all its connections. */
  IDENTITY_REQUEST_RATE_LIMIT: z.coerce.number().int().min(1),
  /** Publishes and moderation actions per RATE_WINDOW_SECONDS from one backend caller (its IAM principal). */
  BACKEND_RATE_LIMIT: z.coerce.number().int().min(1),
  /** Most connections in one room; $connect refuses more (room_full). */
  MAX_ROOM_SIZE: z.coerce.number().int().min(1),
  /** Rooms with more recipients than this are fanned out through the queue, in shards. */
  FANOUT_THRESHOLD: z.coerce.number().int().min(1),
  /** Recipients per shard message on the fan-out queue. */
  FANOUT_SHARD_SIZE: z.coerce.number().int().min(1).max(5000),
  /** A room gets at most one presence frame per this many seconds, carrying every join and leave since the last (presence.ts). */
  PRESENCE_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(900),
};

/** Settings a function may do without. */
const optional = {
  /** The fan-out queue; without it large rooms are served directly. */
  FANOUT_QUEUE_URL: z.url().optional(),
  /** Most Management API posts in flight at once during a broadcast. */
  FANOUT_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(100),
  /** Upper bound on a single Management API call, retries included. */
  POST_TIMEOUT_MS: z.coerce.number().int().min(100).default(3000),
};

/** What a function may be given: any of the template's variables may be absent. */
const environment = z.object(fromTemplate).partial().extend(optional);

/** The configuration as functions use it: a template variable read without being set throws. */
export type Config = Readonly<z.infer<z.ZodObject<typeof fromTemplate & typeof optional>>>;

/** A function used a variable its template entry does not give it. */
export class MissingConfigError extends Error {
  override readonly name = 'MissingConfigError';
  constructor(readonly variable: string) {
    super(`chat-core: ${variable} is not set, and this function uses it: add it to the function's Environment in template.yaml`);
  }
}

/**
 * Reads the environment once, when the layer is first loaded (Lambda's init phase). Every
 * variable that is set is validated then, so a wrong value fails at start-up with one clear
 * message. A template variable that is not set fails where it is read, naming it.
 */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = environment.safeParse(env);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => {
        const variable = issue.path.join('.');
        return `${variable} is ${JSON.stringify(env[variable] ?? '')}: ${issue.message}`;
      });
  problems.push(...samStandIns(env));
  if (!parsed.success || problems.length > 0) {
    throw new Error(`chat-core: invalid environment (${problems.join('; ')})${whereFrom(env)}`);
  }
  const config: Record<string, unknown> = { ...parsed.data };
  for (const variable of Object.keys(fromTemplate)) {
    if (config[variable] !== undefined) continue;
    delete config[variable];
    Object.defineProperty(config, variable, {
      enumerable: false,
      configurable: true,
      get: () => {
        throw new MissingConfigError(variable);
      },
    });
  }
  return config as Config;
}

/**
 * Under `sam local invoke` (AWS_SAM_LOCAL), the values SAM makes up for what only the stack knows:
 * SAM gives a `!Ref` of a resource its logical id, so the template's execute-api URL becomes
 * https://ChatApi.execute-api.<region>.<suffix>/... (the suffix `localhost` when SAM knows no
 * region), where a real API id is lowercase letters and digits. (A table's `!Ref` becomes its
 * logical id too, a plausible name that the local runtime also uses: not refused.)
 */
function samStandIns(env: NodeJS.ProcessEnv): string[] {
  const url = env.CONNECTIONS_URL;
  if (env.AWS_SAM_LOCAL !== 'true' || url === undefined) return [];
  // The host as written: URL() would lower-case the logical id.
  const host = /^[a-z]+:\/\/([^/:?#]+)/i.exec(url)?.[1] ?? '';
  const apiId = host.split('.')[0] ?? '';
  const standIn = host.endsWith('.localhost') || (host.includes('.execute-api.') && !/^[a-z0-9]+$/.test(apiId));
  return standIn ? [`CONNECTIONS_URL is ${JSON.stringify(url)}: SAM's stand-in for the API's endpoint, not a deployed one`] : [];
}

/**
 * Where a wrong value comes from. On Lambda, from the template; under `sam local invoke`
 * (AWS_SAM_LOCAL), from events/env.json, or from SAM itself, which gives a variable that names a
 * resource the resource's logical id (FANOUT_QUEUE_URL=FanoutQueue) when env.json does not set it.
 */
function whereFrom(env: NodeJS.ProcessEnv): string {
  return env.AWS_SAM_LOCAL === 'true'
    ? '. Under sam local invoke, these come from --env-vars events/env.json: fill it from the stack with npm run fill-env (README, sam local invoke)'
    : ". template.yaml sets them (the function's Environment)";
}

export const config: Config = loadConfig(process.env);

/** API Gateway closes every WebSocket connection after 2 hours. */
export const MAX_CONNECTION_SECONDS = 2 * 60 * 60;
/** Connections expire a margin after API Gateway's 2-hour connection limit. */
export const CONNECTION_TTL_SECONDS = MAX_CONNECTION_SECONDS + 15 * 60;
/** Every rate limit counts per this many seconds, as a burst or spread out (see takeToken). */
export const RATE_WINDOW_SECONDS = 10;
