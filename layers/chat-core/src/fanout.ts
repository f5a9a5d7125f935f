import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { sqs } from './aws';
import { type BroadcastResult, broadcast } from './broadcast';
import { config } from './config';
import { type Recipient, roomConnections } from './connections';
import { logger, metrics, MetricUnit } from './observability';
import type { Frame, Protocol } from './protocol';

/**
 * A shard: one frame and up to FANOUT_SHARD_SIZE recipients, the body of one
 * fan-out queue message. Recipients are [connectionId, protocol] pairs to keep
 * the message small.
 */
export interface Shard {
  frame: Frame;
  recipients: [connectionId: string, protocol: Protocol, connectedAt?: number][];
  /** A redelivery of posts that failed (redelivery.ts): which one, from 1. Absent on a first delivery. */
  redelivery?: number;
}

export type FanOutResult =
  | ({ mode: 'direct' } & BroadcastResult)
  | { mode: 'queued'; recipients: number; shards: number }
  | { mode: 'skipped'; recipients: number };

export interface FanOutOptions {
  /** Recipients for whom this returns true are left out (for example the sender). */
  skip?: (recipient: Recipient) => boolean;
  /** Told of each recipient served directly whose post failed (not 410 Gone). */
  onFailure?: (recipient: Recipient) => void;
}

/**
 * Delivers a message to a room. Rooms up to FANOUT_THRESHOLD recipients are
 * served here, directly; larger ones are split into shards on the fan-out queue,
 * which many fan-out invocations serve in parallel (without a queue, every room is
 * served directly). `frame` may be a promise (the
 * message being stored): the room is read meanwhile, and nothing is posted or
 * queued before it resolves, so a message is always stored before anyone gets it. A promise
 * that resolves to undefined (a repeated send: nothing new stored) sends nothing.
 */
export async function fanOut(
  room: string,
  frame: Frame | PromiseLike<Frame | undefined>,
  { skip, onFailure }: FanOutOptions = {},
): Promise<FanOutResult> {
  const queueUrl = config.FANOUT_QUEUE_URL;
  const limit = queueUrl === undefined ? Infinity : config.FANOUT_THRESHOLD;
  const [ready, { first, more }] = await Promise.all([frame, readRoom(room, skip, limit)]);
  if (ready === undefined) return { mode: 'skipped', recipients: first.length };
  if (more === undefined || queueUrl === undefined) return { mode: 'direct', ...(await broadcast([first], ready, { onFailure })) };
  return enqueueShards(ready, rest(first, more, skip), queueUrl);
}

/**
 * Delivers a presence frame to a room, unless the room is larger than
 * FANOUT_THRESHOLD: large rooms do without join and leave notices, which would
 * otherwise cost a whole fan-out per connect and disconnect.
 */
export async function announce(room: string, frame: Frame, { skip }: FanOutOptions = {}): Promise<FanOutResult> {
  const { first, more } = await readRoom(room, skip, config.FANOUT_THRESHOLD);
  if (more !== undefined) return { mode: 'skipped', recipients: first.length };
  return { mode: 'direct', ...(await broadcast([first], frame)) };
}

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

/** SQS takes at most 10 entries and 256 KiB per SendMessageBatch. */
const MAX_BATCH_ENTRIES = 10;
const MAX_BATCH_BYTES = 256 * 1024;

async function enqueueShards(frame: Frame, recipients: AsyncIterable<Recipient>, queueUrl: string): Promise<FanOutResult> {
  let count = 0;
  let shards = 0;
  let shard: Shard['recipients'] = [];
  let batch: string[] = [];
  let batchBytes = 0;
  const flush = async (): Promise<void> => {
    if (batch.length > 0) shards += await sendShards(queueUrl, batch);
    batch = [];
    batchBytes = 0;
  };
  const close = async (): Promise<void> => {
    const body = JSON.stringify({ frame, recipients: shard } satisfies Shard);
    shard = [];
    const bytes = Buffer.byteLength(body, 'utf8');
    if (batch.length === MAX_BATCH_ENTRIES || batchBytes + bytes > MAX_BATCH_BYTES) await flush();
    batch.push(body);
    batchBytes += bytes;
  };
  for await (const recipient of recipients) {
    shard.push([recipient.connectionId, recipient.protocol, recipient.connectedAt]);
    count += 1;
    if (shard.length === config.FANOUT_SHARD_SIZE) await close();
  }
  if (shard.length > 0) await close();
  await flush();
  metrics.addMetric('FanOutShards', MetricUnit.Count, shards);
  return { mode: 'queued', recipients: count, shards };
}

const MAX_BATCH_ATTEMPTS = 5;

/** Sends up to 10 shards in one SendMessageBatch, retrying the entries SQS refused; `delaySeconds` holds them back. */
export async function sendShards(queueUrl: string, bodies: string[], delaySeconds?: number): Promise<number> {
  let entries = bodies.map((body, index) => ({
    Id: String(index),
    MessageBody: body,
    ...(delaySeconds !== undefined && { DelaySeconds: delaySeconds }),
  }));
  for (let attempt = 1; entries.length > 0; attempt += 1) {
    const { Failed } = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    const failed = new Set((Failed ?? []).map((entry) => entry.Id));
    entries = entries.filter((entry) => failed.has(entry.Id));
    if (entries.length > 0) {
      if (attempt >= MAX_BATCH_ATTEMPTS) throw new Error(`${entries.length} fan-out shards could not be queued`);
      logger.warn('retrying refused shards', { count: entries.length, attempt });
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    }
  }
  return bodies.length;
}

/** A shard read back from a queue message; throws on anything else. */
export function parseShard(body: string): Shard {
  const value = JSON.parse(body) as Partial<Shard>;
  if (typeof value.frame !== 'object' || value.frame === null || !Array.isArray(value.recipients)) {
    throw new Error('not a fan-out shard');
  }
  return value as Shard;
}

/** The recipients of a shard in the shape broadcast takes. */
export function shardRecipients(shard: Shard): Recipient[] {
  return shard.recipients.map(([connectionId, protocol, connectedAt]) => ({ connectionId, protocol, connectedAt }));
}
