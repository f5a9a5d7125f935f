import { randomUUID } from 'node:crypto';
import { type AttributeValue, ConditionalCheckFailedException, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { dynamodb } from '../platform/aws';
import { config } from '../platform/config';
import { reply } from '../delivery/broadcast';
import type { Recipient } from '../connections/connections';
import { type FanOutResult, type TimeBudget, postWithin, roomWithinThreshold } from '../delivery/fanout';
import { queuePresenceDue } from '../delivery/shards';
import type { Frame, PresenceChange } from '../wire/wire';
import { logger } from '../platform/observability';
import type { Protocol } from '../wire/protocol';

/**
 * Presence, coalesced per room: a join or leave is not sent to the room at once but added to
 * the room's pending notices, and the room gets at most one `presence` frame per
 * PRESENCE_INTERVAL_SECONDS carrying all of them. Lambda has no timers that outlive an
 * invocation, so the pending notices live in DynamoDB and the fan-out queue is the timer:
 *
 * - Each join or leave appends itself to the room's presence item (in the connections table,
 *   key `presence#<room>`, without a `room` attribute, so the room index never sees it) and,
 *   in the same write, marks the item scheduled with its own token if nobody has. The one
 *   whose token took schedules the flush: a queue message delayed until a full interval after
 *   the last flush. Everyone else's notice rides along.
 * - The fan-out function, on that message, takes the pending notices and clears the mark in
 *   one conditional write (only the message whose token is marked can), and sends them to the
 *   room in one frame. Notices appended after that schedule the next flush.
 *
 * A connection that connected after the batch began gets, in a frame of its own, only what
 * changed after it connected: nobody is told that they joined themselves, nor of what happened
 * before they came (as before coalescing; `members` shows that).
 *
 * So a room gets at most one presence frame per interval, however many connect and
 * disconnect, and a notice waits at most about one interval. Rooms over FANOUT_THRESHOLD get
 * none. Without a fan-out queue, each notice is flushed at once (no coalescing).
 */

/** Notices one frame carries at most; past it, the frame says `incomplete` (ask `members`). */
export const MAX_PENDING_CHANGES = 100;
/** A scheduled flush not seen for this long is taken as lost (its message failed) and scheduled again. */
export const LOST_FLUSH_MS = 5 * 60_000;
/** Presence items of quiet rooms expire after a day. */
const PRESENCE_TTL_SECONDS = 24 * 60 * 60;

const PRESENCE_KEY_PREFIX = 'presence#';
const key = (room: string): Record<string, AttributeValue> => ({ connectionId: { S: `${PRESENCE_KEY_PREFIX}${room}` } });

/** A notice as it waits: with whose connection it is (never sent to anyone). */
interface PendingChange {
  change: PresenceChange;
  from: Pick<Recipient, 'connectionId' | 'protocol'>;
  /** When it was noted (epoch ms). */
  at: number;
}

function toAttribute({ change, from, at }: PendingChange): AttributeValue {
  return {
    M: {
      event: { S: change.event },
      name: { S: change.name },
      ...(change.userId !== undefined && { userId: { S: change.userId } }),
      connectionId: { S: from.connectionId },
      protocol: { S: from.protocol },
      at: { N: String(at) },
    },
  };
}

function fromAttribute(value: AttributeValue): PendingChange[] {
  const fields = value.M;
  const event = fields?.event?.S;
  const name = fields?.name?.S;
  const connectionId = fields?.connectionId?.S;
  if ((event !== 'join' && event !== 'leave') || name === undefined || connectionId === undefined) return [];
  const userId = fields?.userId?.S;
  const protocol: Protocol = fields?.protocol?.S === 'chat.v1' ? 'chat.v1' : 'plain';
  const at = Number(fields?.at?.N ?? 0);
  return [{ change: { event, name, ...(userId !== undefined && { userId }) }, from: { connectionId, protocol }, at }];
}

/** The scheduling token: when, and by whom (so that only one flush of a schedule goes out). */
const newToken = (now: number): string => `${now}:${randomUUID()}`;
const tokenTime = (token: string): number => Number(token.split(':', 1)[0]);

/**
 * Notes a join or a leave in a room (connect, disconnect) and makes sure a flush is
 * scheduled. Presence is best-effort: a failure here is logged, never the client's.
 */
export async function notePresence(
  room: string,
  change: PresenceChange,
  from: Pick<Recipient, 'connectionId' | 'protocol'>,
  budget?: TimeBudget,
  now = Date.now(),
): Promise<void> {
  try {
    const token = newToken(now);
    const item = await append(room, { change, from, at: now }, token, now);
    let scheduled = item.scheduled?.S;
    if (scheduled !== token && scheduled !== undefined && now - tokenTime(scheduled) > LOST_FLUSH_MS) {
      scheduled = (await takeOver(room, scheduled, token)) ? token : scheduled;
    }
    if (scheduled !== token) return; // someone else's flush carries this notice
    const lastFlushAt = Number(item.lastFlushAt?.N ?? 0);
    await scheduleFlush(room, token, (lastFlushAt + config.PRESENCE_INTERVAL_SECONDS * 1000 - now) / 1000, budget);
  } catch (error: unknown) {
    logger.warn('presence notice not sent', { room, event: change.event, error: error as Error });
  }
}

async function append(room: string, pending: PendingChange, token: string, now: number): Promise<Record<string, AttributeValue>> {
  const common = {
    TableName: config.CONNECTIONS_TABLE,
    Key: key(room),
    ReturnValues: 'ALL_NEW' as const,
  };
  const values = {
    ':token': { S: token },
    ':expires': { N: String(Math.floor(now / 1000) + PRESENCE_TTL_SECONDS) },
  };
  try {
    const { Attributes } = await dynamodb.send(
      new UpdateItemCommand({
        ...common,
        UpdateExpression:
          'SET changes = list_append(if_not_exists(changes, :none), :change), scheduled = if_not_exists(scheduled, :token), expiresAt = :expires',
        ConditionExpression: 'attribute_not_exists(changes) OR size(changes) < :max',
        ExpressionAttributeValues: {
          ...values,
          ':none': { L: [] },
          ':change': { L: [toAttribute(pending)] },
          ':max': { N: String(MAX_PENDING_CHANGES) },
        },
      }),
    );
    return Attributes ?? {};
  } catch (error: unknown) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
  // A full batch: this notice is left out, and the frame will say that some are missing.
  const { Attributes } = await dynamodb.send(
    new UpdateItemCommand({
      ...common,
      UpdateExpression: 'SET incomplete = :true, scheduled = if_not_exists(scheduled, :token), expiresAt = :expires',
      ExpressionAttributeValues: { ...values, ':true': { BOOL: true } },
    }),
  );
  return Attributes ?? {};
}

/** Replaces a lost schedule's token with ours; false if someone else did first. */
async function takeOver(room: string, lost: string, token: string): Promise<boolean> {
  try {
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: config.CONNECTIONS_TABLE,
        Key: key(room),
        UpdateExpression: 'SET scheduled = :token',
        ConditionExpression: 'scheduled = :lost',
        ExpressionAttributeValues: { ':token': { S: token }, ':lost': { S: lost } },
      }),
    );
    return true;
  } catch (error: unknown) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

async function scheduleFlush(room: string, token: string, delaySeconds: number, budget: TimeBudget | undefined): Promise<void> {
  const queueUrl = config.FANOUT_QUEUE_URL;
  if (queueUrl === undefined) {
    await flushPresence(room, token, budget);
    return;
  }
  try {
    await queuePresenceDue(queueUrl, room, token, delaySeconds);
  } catch (error: unknown) {
    // Unmark, so that the next notice schedules again instead of waiting LOST_FLUSH_MS.
    await clearSchedule(room, token).catch(() => undefined);
    throw error;
  }
}

async function clearSchedule(room: string, token: string): Promise<void> {
  await dynamodb.send(
    new UpdateItemCommand({
      TableName: config.CONNECTIONS_TABLE,
      Key: key(room),
      UpdateExpression: 'REMOVE scheduled',
      ConditionExpression: 'scheduled = :token',
      ExpressionAttributeValues: { ':token': { S: token } },
    }),
  );
}

/**
 * Sends a room's pending notices, if the schedule `token` is still the room's (a queue
 * message delivered twice, or a schedule taken over, finds it is not, and sends nothing).
 */
export async function flushPresence(room: string, token: string, budget?: TimeBudget, now = Date.now()): Promise<FanOutResult | undefined> {
  let taken: Record<string, AttributeValue>;
  try {
    const { Attributes } = await dynamodb.send(
      new UpdateItemCommand({
        TableName: config.CONNECTIONS_TABLE,
        Key: key(room),
        UpdateExpression: 'SET lastFlushAt = :now REMOVE changes, scheduled, incomplete',
        ConditionExpression: 'scheduled = :token',
        ExpressionAttributeValues: { ':now': { N: String(now) }, ':token': { S: token } },
        ReturnValues: 'ALL_OLD',
      }),
    );
    taken = Attributes ?? {};
  } catch (error: unknown) {
    if (error instanceof ConditionalCheckFailedException) return undefined;
    throw error;
  }
  const pending = (taken.changes?.L ?? []).flatMap(fromAttribute);
  const incomplete = taken.incomplete?.BOOL === true;
  const frame = presenceFrame(
    room,
    pending.map(({ change }) => change),
    incomplete,
  );
  if (frame === undefined) return undefined;
  // The room as it was before the batch: its size decides, as it did for one notice alone.
  const noted = new Set(pending.map(({ from }) => from.connectionId));
  const { recipients, large } = await roomWithinThreshold(room, (recipient) => noted.has(recipient.connectionId));
  if (large) return { mode: 'skipped', recipients: recipients.length };
  // Who connected after the batch began gets, in a frame of its own, only what changed after
  // it connected, and never its own join: nobody is told they joined, nor of what came before
  // them (their members listing shows that). Everyone else gets the batch.
  const firstAt = pending[0]?.at ?? 0;
  const late = (recipient: Recipient): boolean => (recipient.connectedAt ?? 0) >= firstAt;
  const joiners = pending.filter(({ change }) => change.event === 'join').map(({ from, at }) => ({ ...from, connectedAt: at }));
  const result = await postWithin(
    recipients.filter((recipient) => !late(recipient)),
    frame,
    budget,
  );
  await Promise.all(
    [...recipients.filter(late), ...joiners].map(async (recipient) => {
      const after = pending
        .filter(({ at, from }) => at > (recipient.connectedAt ?? 0) && from.connectionId !== recipient.connectionId)
        .map(({ change }) => change);
      const own = presenceFrame(room, after, incomplete);
      // A joiner that has left since is gone: reply ignores it.
      if (own !== undefined)
        await reply(recipient, own).catch((error: unknown) => logger.warn('presence to a newcomer failed', { error: error as Error }));
    }),
  );
  return { mode: 'direct', ...result };
}

/**
 * The frame for a batch of notices: one notice alone keeps the original shape
 * (`event`, `name`); several, or some left out, the batched one (`changes`, `incomplete`).
 */
export function presenceFrame(room: string, changes: PresenceChange[], incomplete: boolean): Frame | undefined {
  const [only] = changes;
  if (changes.length === 1 && only !== undefined && !incomplete) return { type: 'presence', room, ...only };
  if (changes.length === 0 && !incomplete) return undefined;
  return { type: 'presence', room, changes, ...(incomplete && { incomplete }) };
}
