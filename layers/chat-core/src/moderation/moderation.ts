import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { monotonicFactory } from 'ulid';
import { dynamodb } from '../platform/aws';
import { reply } from '../delivery/broadcast';
import { config } from '../platform/config';
import { roomConnections } from '../connections/connections';
import { ChatError, isGone } from '../wire/errors';
import { type Delivered, deliver } from '../delivery/deliver';
import type { TimeBudget } from '../delivery/fanout';
import { closeConnection } from '../platform/management';
import type { ModerationRequest } from './moderation-requests';
import { logger } from '../platform/observability';
import type { Frame, ModerationResult } from '../wire/wire';

/**
 * Moderation: a message deleted for everyone, a person kept out of a room, and a record of
 * each action. Moderators are the people of the token's moderators group (over the WebSocket,
 * in their own room) and the stack's backend callers (the IAM-authorised API, any room).
 *
 * Everything lives in the messages table, under keys no room can have (rooms never contain `#`),
 * so history, which reads one room's partition, never sees them:
 *
 *   ban#<room>, <user id>           a ban; `until` (epoch seconds) unless it lasts until lifted,
 *                                   and then also its TTL, so an expired ban goes by itself
 *   moderation#<room>, <ULID>       one action: op, target, by, at (kept as long as the table)
 *
 * A deleted message keeps its place (id, prevId: the room's chain stays whole) with its text
 * emptied and `deletedAt`/`deletedBy` set; history returns it with `deleted: true`.
 */

/** Who moderates: a person (a token in the moderators group) or a backend caller (its IAM principal). */
export type Moderator = { kind: 'person'; userId: string; name: string } | { kind: 'backend'; arn: string };

const by = (moderator: Moderator): string => (moderator.kind === 'person' ? `user#${moderator.userId}` : `iam#${moderator.arn}`);
const banKey = (room: string, user: string) => ({ room: { S: `ban#${room}` }, id: { S: user } });
const logId = monotonicFactory();

/** A ban in force on a person in a room: its end (epoch seconds), or `until: undefined` until lifted. */
export async function activeBan(room: string, userId: string, now = Date.now()): Promise<{ until?: number } | undefined> {
  const { Item } = await dynamodb.send(
    new GetItemCommand({ TableName: config.MESSAGES_TABLE, Key: banKey(room, userId), ConsistentRead: true }),
  );
  if (!Item) return undefined;
  const until = Item.until?.N === undefined ? undefined : Number(Item.until.N);
  // TTL deletes lazily (AWS allows days): an expired ban is none.
  if (until !== undefined && until <= Math.floor(now / 1000)) return undefined;
  return until === undefined ? {} : { until };
}

/** The words a banned person is told, on $connect and as their connections are closed. */
export function banNotice(room: string, until: number | undefined): string {
  return `you are banned from room ${room} by a moderator${until === undefined ? '' : ` until ${new Date(until * 1000).toISOString()}`}`;
}

export interface ModerateOptions {
  /** The invocation, for a deletion's fan-out (fanout.ts). */
  budget?: TimeBudget;
  now?: number;
}

/** Carries out one moderation action (the caller has checked that `moderator` may) and records it. */
export async function moderate(request: ModerationRequest, moderator: Moderator, options: ModerateOptions = {}): Promise<ModerationResult> {
  const now = options.now ?? Date.now();
  switch (request.op) {
    case 'check':
      return { op: 'check', room: request.room, moderator: true };
    case 'delete':
      await deleteMessage(request.room, request.id, moderator, now);
      await record(request.room, { op: 'delete', target: request.id }, moderator, now);
      await announceDeletion(request.room, request.id, options.budget);
      return { op: 'delete', room: request.room, id: request.id };
    case 'ban': {
      const until = request.seconds === undefined ? undefined : Math.floor(now / 1000) + request.seconds;
      await dynamodb.send(
        new PutItemCommand({
          TableName: config.MESSAGES_TABLE,
          Item: {
            ...banKey(request.room, request.user),
            by: { S: by(moderator) },
            at: { S: new Date(now).toISOString() },
            ...(until !== undefined && { until: { N: String(until) }, expiresAt: { N: String(until) } }),
          },
        }),
      );
      await record(request.room, { op: 'ban', target: request.user, ...(until !== undefined && { until }) }, moderator, now);
      const closed = await closeMember(request.room, request.user, banNotice(request.room, until));
      return {
        op: 'ban',
        room: request.room,
        user: request.user,
        until: until === undefined ? null : new Date(until * 1000).toISOString(),
        closed,
      };
    }
    case 'unban':
      await dynamodb.send(new DeleteItemCommand({ TableName: config.MESSAGES_TABLE, Key: banKey(request.room, request.user) }));
      await record(request.room, { op: 'unban', target: request.user }, moderator, now);
      return { op: 'unban', room: request.room, user: request.user };
  }
}

/** Empties a message's text for good (its place in the chain stays); not_found when the room has no such message. */
async function deleteMessage(room: string, id: string, moderator: Moderator, now: number): Promise<void> {
  try {
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: config.MESSAGES_TABLE,
        Key: { room: { S: room }, id: { S: id } },
        UpdateExpression: 'SET #text = :empty, deletedAt = :at, deletedBy = :by',
        ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeNames: { '#text': 'text' },
        ExpressionAttributeValues: { ':empty': { S: '' }, ':at': { S: new Date(now).toISOString() }, ':by': { S: by(moderator) } },
      }),
    );
  } catch (error: unknown) {
    if (error instanceof ConditionalCheckFailedException) throw new ChatError('not_found', `room ${room} has no message ${id}`);
    throw error;
  }
}

/** Every member of the room hears of the deletion, as of a message: directly, or through the queue for large rooms. */
function announceDeletion(room: string, id: string, budget: TimeBudget | undefined): Promise<Delivered> {
  const frame: Frame = { type: 'deleted', room, id };
  return deliver(room, { frame, repeat: false }, { ...(budget && { budget }) });
}

/**
 * Tells each of the person's connections in the room why, then closes it; how many were closed.
 * A client that leaves on hearing why (the chat page does) is gone before the close: closed too.
 * One already gone before it was told was no open connection.
 */
async function closeMember(room: string, userId: string, notice: string): Promise<number> {
  let closed = 0;
  for await (const page of roomConnections(room)) {
    for (const connection of page.filter((c) => c.userId === userId)) {
      const { connectionId } = connection;
      try {
        if (!(await reply(connection, { type: 'error', code: 'banned', message: notice }))) continue;
      } catch (error: unknown) {
        logger.warn('could not tell a banned connection why', { connectionId, error: error as Error });
      }
      try {
        await closeConnection(connectionId);
        closed += 1;
      } catch (error: unknown) {
        if (isGone(error)) closed += 1;
        else logger.warn('could not close a banned connection', { connectionId, error: error as Error });
      }
    }
  }
  return closed;
}

/** Stores the action with who did it and when. */
async function record(
  room: string,
  action: { op: string; target: string; until?: number },
  moderator: Moderator,
  now: number,
): Promise<void> {
  await dynamodb.send(
    new PutItemCommand({
      TableName: config.MESSAGES_TABLE,
      Item: {
        room: { S: `moderation#${room}` },
        id: { S: logId(now) },
        op: { S: action.op },
        target: { S: action.target },
        by: { S: by(moderator) },
        ...(moderator.kind === 'person' && { byName: { S: moderator.name } }),
        at: { S: new Date(now).toISOString() },
        ...(action.until !== undefined && { until: { N: String(action.until) } }),
      },
    }),
  );
  logger.info('moderated', { room, ...action, by: by(moderator) });
}
