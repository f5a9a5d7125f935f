import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { dynamodb } from '../platform/aws';
import type { Link } from './chain';
import { config } from '../platform/config';

/**
 * Idempotent sends: a sendmessage that carries a client message id (`clientId`) records,
 * before its message is stored, which place in the room that id took. A repeat of the same
 * clientId from the same sender finds the record and is answered with the original message
 * instead of storing a second one (as Ably's idempotent publishing does).
 *
 * The record is keyed by room, sender and clientId, in the messages table under a key no room
 * can have (rooms never contain `#`); it expires with the message it points to. The sender is
 * the token's subject when the stack authenticates (so a repeat after a reconnect is still
 * recognised), else the connection.
 */

export interface Sender {
  connectionId: string;
  userId?: string;
}

/** The place a clientId took, and when it was sent. */
export interface ClientIdRecord extends Link {
  sentAt: string;
}

export interface ClientIdKey {
  room: string;
  sender: Sender;
  clientId: string;
}

function recordKey({ room, sender, clientId }: ClientIdKey) {
  const who = sender.userId !== undefined ? `user:${sender.userId}` : `connection:${sender.connectionId}`;
  return { room: { S: `client#${room}#${who}` }, id: { S: clientId } };
}

/** The record of an earlier send with this clientId, unless it has expired. */
export async function readClientId(key: ClientIdKey, now: number): Promise<ClientIdRecord | undefined> {
  const { Item } = await dynamodb.send(new GetItemCommand({ TableName: config.MESSAGES_TABLE, Key: recordKey(key), ConsistentRead: true }));
  const messageId = Item?.messageId?.S;
  const sentAt = Item?.sentAt?.S;
  // TTL deletes lazily (AWS allows days): an expired record counts as none.
  if (messageId === undefined || sentAt === undefined || Number(Item?.expiresAt?.N ?? 0) <= Math.floor(now / 1000)) return undefined;
  const prevId = Item?.prevId?.S;
  return { id: messageId, sentAt, ...(prevId !== undefined && { prevId }) };
}

/** Records the place a clientId takes; false when another send with it got there first. */
export async function recordClientId(key: ClientIdKey, record: ClientIdRecord, expiresAt: number): Promise<boolean> {
  try {
    await dynamodb.send(
      new PutItemCommand({
        TableName: config.MESSAGES_TABLE,
        Item: {
          ...recordKey(key),
          messageId: { S: record.id },
          sentAt: { S: record.sentAt },
          ...(record.prevId !== undefined && { prevId: { S: record.prevId } }),
          expiresAt: { N: String(expiresAt) },
        },
        ConditionExpression: 'attribute_not_exists(id) OR expiresAt <= :now',
        ExpressionAttributeValues: { ':now': { N: String(Math.floor(Date.parse(record.sentAt) / 1000)) } },
      }),
    );
    return true;
  } catch (error: unknown) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
