import { type AttributeValue, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { monotonicFactory } from 'ulid';
import { dynamodb } from './aws';
import { config } from './config';
import type { ChatMessage, HistoryRequest } from './protocol';

type Item = Record<string, AttributeValue>;

/** ULIDs: unique, and sortable by time, so a room's messages sort by id. */
const nextId = monotonicFactory();

function toMessage(item: Item): ChatMessage {
  return {
    id: item.id?.S ?? '',
    room: item.room?.S ?? '',
    name: item.name?.S ?? '',
    text: item.text?.S ?? '',
    sentAt: item.sentAt?.S ?? '',
    ...(item.userId?.S !== undefined && { userId: item.userId.S }),
  };
}

/** Stores a message (before anyone receives it) and returns it with its id. */
export async function saveMessage(
  draft: { room: string; name: string; text: string; connectionId: string; userId?: string },
  now = Date.now(),
): Promise<ChatMessage> {
  const message: ChatMessage = {
    id: nextId(now),
    room: draft.room,
    name: draft.name,
    text: draft.text,
    sentAt: new Date(now).toISOString(),
    ...(draft.userId !== undefined && { userId: draft.userId }),
  };
  const expiresAt = Math.floor(now / 1000) + config.MESSAGE_RETENTION_DAYS * 24 * 60 * 60;
  await dynamodb.send(
    new PutItemCommand({
      TableName: config.MESSAGES_TABLE,
      Item: {
        room: { S: message.room },
        id: { S: message.id },
        name: { S: message.name },
        text: { S: message.text },
        sentAt: { S: message.sentAt },
        connectionId: { S: draft.connectionId },
        ...(draft.userId !== undefined && { userId: { S: draft.userId } }),
        expiresAt: { N: String(expiresAt) },
      },
      ConditionExpression: 'attribute_not_exists(id)',
    }),
  );
  return message;
}

export interface HistoryPage {
  messages: ChatMessage[];
  hasMore: boolean;
}

/**
 * A page of a room's messages, oldest first. Without a cursor: the latest
 * `limit`; `before`: the `limit` just before that id; `after`: the `limit` just
 * after it. `hasMore` says whether more lie further in the direction read.
 */
export async function readHistory(room: string, request: HistoryRequest): Promise<HistoryPage> {
  const forward = request.after !== undefined;
  // TTL deletes lazily (AWS allows days), so expired messages are filtered out here.
  const values: Item = { ':room': { S: room }, ':now': { N: String(Math.floor(Date.now() / 1000)) } };
  let condition = 'room = :room';
  if (request.after !== undefined) {
    condition += ' AND id > :after';
    values[':after'] = { S: request.after };
  } else if (request.before !== undefined) {
    condition += ' AND id < :before';
    values[':before'] = { S: request.before };
  }
  const wanted = request.limit + 1; // one more than asked tells whether there is more
  const items: Item[] = [];
  let startKey: Item | undefined;
  do {
    const page = await dynamodb.send(
      new QueryCommand({
        TableName: config.MESSAGES_TABLE,
        KeyConditionExpression: condition,
        FilterExpression: 'expiresAt > :now',
        ExpressionAttributeValues: values,
        ProjectionExpression: 'room, id, #name, #text, sentAt, userId',
        ExpressionAttributeNames: { '#name': 'name', '#text': 'text' },
        ScanIndexForward: forward,
        Limit: wanted - items.length,
        ExclusiveStartKey: startKey,
      }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey && items.length < wanted);
  const hasMore = items.length > request.limit;
  const messages = items.slice(0, request.limit).map(toMessage);
  if (!forward) messages.reverse();
  return { messages, hasMore };
}
