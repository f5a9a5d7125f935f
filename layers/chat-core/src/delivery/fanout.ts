import type { Context } from 'aws-lambda';
import { type BroadcastResult, broadcast } from './broadcast';
import { config } from '../platform/config';
import { countShards } from './confirmation';
import { type Recipient, roomConnections } from '../connections/connections';
import { logger } from '../platform/observability';
import type { Frame } from '../wire/protocol';
import { type ConfirmTo, type Shard, type ShardQueueing, enqueueShards, shardRecipients } from './shards';

type DirectResult = Omit<BroadcastResult, 'unsent'> & {
  /** Recipients left when the invocation's time ran short, queued in `shards` shards. */
  handedOff: number;
  shards: number;
};

export type FanOutResult =
  ({ mode: 'direct' } & DirectResult) | { mode: 'queued'; recipients: number; shards: number } | { mode: 'skipped'; recipients: number };

/**
 * Whether a fan-out queued shards, and so left the sender's confirmation (FanOutOptions.confirm)
 * to the last of them to be served; otherwise the caller confirms.
 */
export const confirmationQueued = (result: FanOutResult | { mode: 'failed' }): boolean =>
  (result.mode === 'queued' || result.mode === 'direct') && result.shards > 0;

/** What a fan-out needs of its invocation: how much time it has left. */
export type TimeBudget = Pick<Context, 'getRemainingTimeInMillis'>;

export interface FanOutOptions {
  /** Recipients for whom this returns true are left out (for example the sender). */
  skip?: (recipient: Recipient) => boolean;
  /** Told of each recipient served directly whose post failed (not 410 Gone; see redelivery.ts). */
  onFailure?: (recipient: Recipient) => void;
  /**
   * The invocation: posting stops in time for the function to queue what is left, confirm
   * and return before its timeout. Without it (or without a queue) every post is made here.
   */
  budget?: TimeBudget;
  /**
   * The sender to confirm a message to: when shards are queued, the last one served does it
   * (confirmation.ts; see confirmationQueued). Not for presence.
   */
  confirm?: ConfirmTo;
}

/**
 * What a function keeps for itself after its posts, besides one more post (the sender's
 * confirmation, up to POST_TIMEOUT_MS): queueing the rest (a SendMessageBatch per 10 shards),
 * counting shards, queueing redeliveries, deleting gone connections, publishing metrics.
 */
export const HANDOFF_RESERVE_MS = 1500;

/**
 * When posting must be over, for an invocation with `budget` left: what follows the posts, the
 * confirmation's post included, still fits before the function's timeout.
 */
export function deadlineOf(budget: TimeBudget, now = Date.now()): number {
  return now + budget.getRemainingTimeInMillis() - HANDOFF_RESERVE_MS - config.POST_TIMEOUT_MS;
}

/**
 * Delivers a message to a room. Rooms up to FANOUT_THRESHOLD recipients are
 * served here, directly, for as long as the invocation's time allows: whoever is
 * left then is handed to the fan-out queue in shards. Larger rooms are split into
 * shards on the queue at once, which many fan-out invocations serve in parallel
 * (without a queue, every room is served directly, whatever the time). `frame` may
 * be a promise (the message being stored): the room is read meanwhile, and nothing
 * is posted or queued before it resolves, so a message is always stored before
 * anyone gets it. A promise that resolves to undefined (a repeated send: nothing new
 * stored) sends nothing.
 */
export async function fanOut(
  room: string,
  frame: Frame | PromiseLike<Frame | undefined>,
  { skip, budget, onFailure, confirm }: FanOutOptions = {},
): Promise<FanOutResult> {
  const queueUrl = config.FANOUT_QUEUE_URL;
  const limit = queueUrl === undefined ? Infinity : config.FANOUT_THRESHOLD;
  const [ready, { first, more }] = await Promise.all([frame, readRoom(room, skip, limit)]);
  if (ready === undefined) return { mode: 'skipped', recipients: first.length };
  if (more === undefined || queueUrl === undefined)
    return { mode: 'direct', ...(await postWithin(first, ready, budget, onFailure, confirm)) };
  return enqueueShards(ready, rest(first, more, skip), queueUrl, counted(ready, confirm));
}

/**
 * Delivers a presence frame to a room, unless the room is larger than
 * FANOUT_THRESHOLD: large rooms do without join and leave notices, which would
 * otherwise cost a whole fan-out each. Served directly, within the time budget.
 */
export async function announce(room: string, frame: Frame, { skip, budget }: FanOutOptions = {}): Promise<FanOutResult> {
  const { first, more } = await readRoom(room, skip, config.FANOUT_THRESHOLD);
  if (more !== undefined) return { mode: 'skipped', recipients: first.length };
  return { mode: 'direct', ...(await postWithin(first, frame, budget)) };
}

/** The recipients of a room, or `large` when it has more than FANOUT_THRESHOLD (then not all are read). */
export async function roomWithinThreshold(
  room: string,
  skip?: (recipient: Recipient) => boolean,
): Promise<{ recipients: Recipient[]; large: boolean }> {
  const { first, more } = await readRoom(room, skip, config.FANOUT_THRESHOLD);
  return { recipients: first, large: more !== undefined };
}

/**
 * Posts a frame to recipients until the budget's deadline, then queues the ones not
 * reached, so that they get it from the fan-out function instead of never (a direct
 * fan-out cut by its timeout) or twice (a whole shard redelivered). Each recipient is
 * posted to here or queued, not both.
 */
export async function postWithin(
  recipients: Recipient[],
  frame: Frame,
  budget: TimeBudget | undefined,
  onFailure?: (recipient: Recipient) => void,
  confirm?: ConfirmTo,
): Promise<DirectResult> {
  const queueUrl = config.FANOUT_QUEUE_URL;
  const deadline = budget !== undefined && queueUrl !== undefined ? deadlineOf(budget) : undefined;
  const { unsent, ...result } = await broadcast([recipients], frame, {
    ...(deadline !== undefined && { deadline }),
    ...(onFailure && { onFailure }),
  });
  if (unsent.length === 0 || queueUrl === undefined) return { ...result, handedOff: 0, shards: 0 };
  const { shards } = await enqueueShards(frame, unsent, queueUrl, counted(frame, confirm));
  logger.info('time running short: recipients handed to the fan-out queue', { handedOff: unsent.length, shards });
  return { ...result, handedOff: unsent.length, shards };
}

/**
 * Serves one shard of the fan-out queue (FanoutFunction) within the invocation's time:
 * the recipients it could not reach go back on the queue as a new, smaller shard, so
 * that the original can be deleted and a redelivery repeats nothing already posted. They
 * keep the shard's `redelivery`, so a redelivery's retries stay bounded. Recipients whose
 * posts failed are told to `onFailure` (the caller redelivers them, redelivery.ts).
 */
export async function serveShard(shard: Shard, budget: TimeBudget, onFailure?: (recipient: Recipient) => void): Promise<DirectResult> {
  const served = await serveWithin(shard, budget, onFailure);
  // This shard is done (what it could not reach is queued, and counted, as new shards).
  if (shard.confirm) await countShards(shard.frame, shard.confirm, -1);
  return served;
}

async function serveWithin(shard: Shard, budget: TimeBudget, onFailure?: (recipient: Recipient) => void): Promise<DirectResult> {
  const queueUrl = config.FANOUT_QUEUE_URL;
  if (queueUrl === undefined) return postWithin(shardRecipients(shard), shard.frame, budget, onFailure);
  const { unsent, ...result } = await broadcast([shardRecipients(shard)], shard.frame, {
    deadline: deadlineOf(budget),
    ...(onFailure && { onFailure }),
  });
  if (unsent.length === 0) return { ...result, handedOff: 0, shards: 0 };
  // An invocation that started with too little time for even one post (it should not: the
  // function's Timeout is far above POST_TIMEOUT_MS) puts the shard back a little later, a
  // few times, then fails it (retried by SQS, then dead-lettered), rather than loop.
  const stalled = result.attempted === 0 ? (shard.stalled ?? 0) + 1 : undefined;
  if (stalled !== undefined && stalled > MAX_STALLS)
    throw new Error(`no time to post to any recipient of the shard, ${MAX_STALLS} times in a row`);
  const { shards } = await enqueueShards(shard.frame, unsent, queueUrl, {
    ...(shard.redelivery !== undefined && { redelivery: shard.redelivery }),
    ...counted(shard.frame, shard.confirm),
    ...(stalled !== undefined && { stalled, delaySeconds: STALL_DELAY_SECONDS * 2 ** (stalled - 1) }),
  });
  logger.info('time running short: recipients of the shard put back on the queue', { handedOff: unsent.length, shards, stalled });
  return { ...result, handedOff: unsent.length, shards };
}

/** Times in a row a shard may be put back untouched, each after twice as long (2, 4, 8 s). */
export const MAX_STALLS = 3;
const STALL_DELAY_SECONDS = 2;

/**
 * A room's recipients, read until there are more than `limit`; then `more` holds
 * the pages not read yet.
 */
async function readRoom(
  room: string,
  skip: ((recipient: Recipient) => boolean) | undefined,
  limit: number,
): Promise<{ first: Recipient[]; more?: AsyncIterator<Recipient[]> }> {
  const first: Recipient[] = [];
  // Pages of limit + 1 entries: a room over the limit costs one small read, not a 1 MB page.
  const pageSize = Number.isFinite(limit) ? limit + 1 : undefined;
  const pages = roomConnections(room, pageSize)[Symbol.asyncIterator]();
  for (let page = await pages.next(); !page.done; page = await pages.next()) {
    first.push(...page.value.filter((recipient) => !skip?.(recipient)));
    if (first.length > limit) return { first, more: pages };
  }
  return { first };
}

/** The recipients read so far, then the rest of the room's pages. */
async function* rest(
  read: Recipient[],
  pages: AsyncIterator<Recipient[]>,
  skip: ((recipient: Recipient) => boolean) | undefined,
): AsyncGenerator<Recipient> {
  yield* read;
  for (let page = await pages.next(); !page.done; page = await pages.next()) {
    for (const recipient of page.value) if (!skip?.(recipient)) yield recipient;
  }
}

/** How shards queued for a sender's confirmation are counted (confirmation.ts); nothing without one. */
function counted(frame: Frame, confirm: ConfirmTo | undefined): Pick<ShardQueueing, 'confirm' | 'count'> {
  return confirm ? { confirm, count: (change) => countShards(frame, confirm, change) } : {};
}
