import { SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { sqs } from '../platform/aws';
import { sendAll } from '../platform/batches';
import { config } from '../platform/config';
import type { Recipient } from '../connections/connections';
import { logger, metrics, MetricUnit } from '../platform/observability';
import type { Frame, Protocol } from '../wire/protocol';

/**
 * The fan-out queue's messages: shards (a frame and some of its recipients) and presence flushes,
 * written here and read back by FanoutFunction. Whoever queues a message's shards for a sender's
 * confirmation (fanout.ts) counts them (confirmation.ts): this module only carries whom to confirm to.
 */

/** Whom a message is confirmed to once it has been handed to everyone (confirmation.ts). */
export interface ConfirmTo {
  connectionId: string;
  protocol: Protocol;
  /** The clientId the sender gave, echoed in its confirmation. */
  clientId?: string;
}

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
  /** Invocations in a row that had no time to post to any of them (see serveShard). */
  stalled?: number;
  /** Whom to confirm the message to once every shard of it has been served (confirmation.ts). */
  confirm?: ConfirmTo;
}

/** A room's pending join and leave notices are due (presence.ts): the body of a delayed queue message. */
export interface PresenceDue {
  presence: { room: string; token: string };
}

export type QueueMessage = { kind: 'shard'; shard: Shard } | { kind: 'presence'; room: string; token: string };

/** SQS takes at most 10 entries and 256 KiB per SendMessageBatch. */
const MAX_BATCH_ENTRIES = 10;
const MAX_BATCH_BYTES = 256 * 1024;

/** What a queued shard carries beyond its frame and recipients, and how long SQS holds it back. */
export interface ShardQueueing {
  redelivery?: number;
  stalled?: number;
  delaySeconds?: number;
  /** The sender to confirm to once every shard is served, carried in each shard. */
  confirm?: ConfirmTo;
  /** Counts shards still to serve (confirmation.ts countShards), given with `confirm`. */
  count?: (change: number) => Promise<void>;
}

/**
 * Queues a frame for recipients, in shards of FANOUT_SHARD_SIZE, 10 shards to a SendMessageBatch.
 * With `count`, each batch is counted before it is sent, with one more held until all are.
 */
export async function enqueueShards(
  frame: Frame,
  recipients: AsyncIterable<Recipient> | Iterable<Recipient>,
  queueUrl: string,
  { redelivery, stalled, delaySeconds = 0, confirm, count: countShards }: ShardQueueing = {},
): Promise<{ mode: 'queued'; recipients: number; shards: number }> {
  let count = 0;
  let shards = 0;
  let shard: Shard['recipients'] = [];
  let batch: string[] = [];
  let batchBytes = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    if (countShards) await countShards(batch.length + (shards === 0 ? 1 : 0));
    shards += await sendShards(queueUrl, batch, delaySeconds);
    batch = [];
    batchBytes = 0;
  };
  const close = async (): Promise<void> => {
    const body = JSON.stringify({
      frame,
      recipients: shard,
      ...(redelivery !== undefined && { redelivery }),
      ...(stalled !== undefined && { stalled }),
      ...(confirm && { confirm }),
    } satisfies Shard);
    shard = [];
    const bytes = Buffer.byteLength(body, 'utf8');
    if (batch.length === MAX_BATCH_ENTRIES || batchBytes + bytes > MAX_BATCH_BYTES) await flush();
    batch.push(body);
    batchBytes += bytes;
  };
  for await (const recipient of recipients) {
    const { connectionId, protocol, connectedAt } = recipient;
    shard.push(connectedAt === undefined ? [connectionId, protocol] : [connectionId, protocol, connectedAt]);
    count += 1;
    if (shard.length === config.FANOUT_SHARD_SIZE) await close();
  }
  if (shard.length > 0) await close();
  await flush();
  // All queued: the hold goes (this may be what brings the count to zero, and confirms).
  if (countShards && shards > 0) await countShards(-1);
  metrics.addMetric('FanOutShards', MetricUnit.Count, shards);
  return { mode: 'queued', recipients: count, shards };
}

/** Sends up to 10 shards in one SendMessageBatch, retrying the entries SQS refused; `delaySeconds` holds them back. */
async function sendShards(queueUrl: string, bodies: string[], delaySeconds = 0): Promise<number> {
  const entries = bodies.map((body, index) => ({
    Id: String(index),
    MessageBody: body,
    ...(delaySeconds > 0 && { DelaySeconds: delaySeconds }),
  }));
  await sendAll(
    entries,
    async (batch) => {
      const { Failed } = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch }));
      const failed = new Set((Failed ?? []).map((entry) => entry.Id));
      return batch.filter((entry) => failed.has(entry.Id));
    },
    {
      onRetry: (left, attempt) => logger.warn('retrying refused shards', { count: left.length, attempt }),
      failure: (left) => new Error(`${left.length} fan-out shards could not be queued`),
    },
  );
  return bodies.length;
}

/**
 * Asks the fan-out function to send a room's pending presence notices in `delaySeconds`
 * (SQS delays a message by up to 15 minutes: the queue is the timer Lambda lacks).
 */
export async function queuePresenceDue(queueUrl: string, room: string, token: string, delaySeconds: number): Promise<void> {
  const body: PresenceDue = { presence: { room, token } };
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify(body),
      DelaySeconds: Math.min(900, Math.max(0, Math.ceil(delaySeconds))),
    }),
  );
}

/**
 * A fan-out queue message read back: a shard (a first delivery, a hand-off, or a redelivery of
 * failed posts, which carries `redelivery`) or a presence flush; throws on anything else.
 */
export function parseQueueMessage(body: string): QueueMessage {
  const value = JSON.parse(body) as Partial<Shard & PresenceDue>;
  const { presence } = value;
  if (typeof presence === 'object' && presence !== null && typeof presence.room === 'string' && typeof presence.token === 'string') {
    return { kind: 'presence', room: presence.room, token: presence.token };
  }
  return { kind: 'shard', shard: parseShard(body) };
}

/** A shard read back from a queue message; throws on anything else. */
export function parseShard(body: string): Shard {
  const value = JSON.parse(body) as Partial<Shard>;
  if (typeof value.frame !== 'object' || value.frame === null || !Array.isArray(value.recipients)) {
    throw new Error('not a fan-out shard');
  }
  for (const count of [value.redelivery, value.stalled]) {
    if (count !== undefined && !(Number.isInteger(count) && count >= 0))
      throw new Error('not a fan-out shard: a count that is no whole number');
  }
  const { confirm } = value;
  if (
    confirm !== undefined &&
    (typeof confirm !== 'object' ||
      confirm === null ||
      typeof confirm.connectionId !== 'string' ||
      (confirm.protocol !== 'chat.v1' && confirm.protocol !== 'plain') ||
      !['string', 'undefined'].includes(typeof confirm.clientId))
  ) {
    throw new Error('not a fan-out shard: whom to confirm to is malformed');
  }
  return value as Shard;
}

/** The recipients of a shard in the shape broadcast takes. */
export function shardRecipients(shard: Shard): Recipient[] {
  return shard.recipients.map(([connectionId, protocol, connectedAt]) => ({ connectionId, protocol, connectedAt }));
}
