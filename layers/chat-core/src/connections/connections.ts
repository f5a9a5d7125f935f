import {
  type AttributeValue,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  paginateQuery,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { dynamodb } from '../platform/aws';
import { sendAll } from '../platform/batches';
import { CONNECTION_TTL_SECONDS, MAX_CONNECTION_SECONDS, config } from '../platform/config';
import { ChatError } from '../wire/errors';
import type { Protocol } from '../wire/protocol';
import { refusal, takeToken } from '../limits/rate-limit';

/** One open WebSocket connection: an item of the connections table. */
export interface Connection {
  connectionId: string;
  room: string;
  name: string;
  protocol: Protocol;
  /** Epoch milliseconds of the $connect that stored it. */
  connectedAt: number;
  /** Who connected (the token's subject), when the stack authenticates (AuthMode). */
  userId?: string;
}

/** What a broadcast needs to know of a connection. */
export type Recipient = Pick<Connection, 'connectionId' | 'protocol'> & Partial<Pick<Connection, 'connectedAt'>>;

/** The room index of the connections table (partition key room, sort key connectionId). */
export const ROOM_INDEX = 'byRoom';

type Item = Record<string, AttributeValue>;

/** A connection item read back (the SDK's unmarshall), with what a reader may rely on filled in. */
function toConnection(item: Item): Connection {
  const { connectionId, room, name, protocol, connectedAt, userId } = unmarshall(item) as Partial<Record<keyof Connection, unknown>>;
  return {
    connectionId: String(connectionId ?? ''),
    room: String(room ?? ''),
    name: String(name ?? ''),
    protocol: protocol === 'chat.v1' ? 'chat.v1' : 'plain',
    connectedAt: Number(connectedAt ?? 0),
    ...(typeof userId === 'string' && { userId }),
  };
}

/** What getConnection and the room index read of a connection. */
const CONNECTION_FIELDS = 'connectionId, room, #name, protocol, connectedAt, userId';

const key = (connectionId: string): Item => ({ connectionId: { S: connectionId } });

export async function saveConnection(connection: Omit<Connection, 'connectedAt'>, now = Date.now()): Promise<void> {
  await dynamodb.send(
    new PutItemCommand({
      TableName: config.CONNECTIONS_TABLE,
      Item: marshall(
        {
          connectionId: connection.connectionId,
          room: connection.room,
          name: connection.name,
          protocol: connection.protocol,
          connectedAt: now,
          expiresAt: Math.floor(now / 1000) + CONNECTION_TTL_SECONDS,
          // The connection's own rate limit buckets, full (see countOnConnection).
          rateAt: 0,
          requestAt: 0,
          userId: connection.userId,
        },
        { removeUndefinedValues: true },
      ),
    }),
  );
}

/** Deletes a connection and returns what it was, if it existed. */
export async function deleteConnection(connectionId: string): Promise<Connection | undefined> {
  const { Attributes } = await dynamodb.send(
    new DeleteItemCommand({ TableName: config.CONNECTIONS_TABLE, Key: key(connectionId), ReturnValues: 'ALL_OLD' }),
  );
  return Attributes ? toConnection(Attributes) : undefined;
}

export async function getConnection(connectionId: string): Promise<Connection | undefined> {
  const { Item } = await dynamodb.send(
    new GetItemCommand({
      TableName: config.CONNECTIONS_TABLE,
      Key: key(connectionId),
      ProjectionExpression: CONNECTION_FIELDS,
      ExpressionAttributeNames: { '#name': 'name' },
    }),
  );
  return Item ? toConnection(Item) : undefined;
}

/** The caller's connection, or a `not_connected` error the caller can be told about. */
export function registered(connection: Connection | undefined): Connection {
  if (!connection) throw new ChatError('not_connected', 'this connection is not registered; reconnect');
  return connection;
}

/** The caller's connection, or a `not_connected` error the caller can be told about. */
export async function requireConnection(connectionId: string): Promise<Connection> {
  return registered(await getConnection(connectionId));
}

/** A connection's own rate limit buckets: attributes of its item, set full when it is saved. */
type ConnectionBucket = 'rateAt' | 'requestAt';

/**
 * Takes a token from one of a connection's own buckets (a token bucket: see takeToken) and
 * returns the connection, in one write on the common path: the bucket is an attribute of the
 * connection's item, so the write also proves the connection is registered and reads it.
 * Undefined when it is not registered; rate_limited (`what`) when the bucket is empty.
 *
 * A connection saved by an older version that lacked the bucket gets it (full) on its first
 * refusal, so that a stack update does not lock out the people connected through it.
 */
async function countOnConnection(
  connectionId: string,
  attribute: ConnectionBucket,
  limit: number,
  what: string,
  now: number,
): Promise<Connection | undefined> {
  const bucket = { table: config.CONNECTIONS_TABLE, key: key(connectionId), limit, attribute, createdWithItem: true };
  const taken = await takeToken(bucket, now);
  if (taken) return toConnection(taken);
  const { Item } = await dynamodb.send(
    new GetItemCommand({ TableName: config.CONNECTIONS_TABLE, Key: key(connectionId), ProjectionExpression: `connectionId, ${attribute}` }),
  );
  if (!Item) return undefined;
  if (Item[attribute] === undefined) {
    await startBucket(connectionId, attribute);
    const retried = await takeToken(bucket, now);
    if (retried) return toConnection(retried);
  }
  throw refusal(what, limit, 'this connection');
}

/** Adds a full bucket to a connection saved without it (if it is still there and has none). */
async function startBucket(connectionId: string, attribute: ConnectionBucket): Promise<void> {
  try {
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: config.CONNECTIONS_TABLE,
        Key: key(connectionId),
        UpdateExpression: `SET ${attribute} = :full`,
        ConditionExpression: `attribute_exists(connectionId) AND attribute_not_exists(${attribute})`,
        ExpressionAttributeValues: { ':full': { N: '0' } },
      }),
    );
  } catch (error: unknown) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/**
 * Counts a sendmessage frame against its connection's MESSAGE_RATE_LIMIT and returns the
 * sender; not_connected when the connection is not registered, rate_limited past the limit.
 */
export async function recordMessageSent(connectionId: string, now = Date.now()): Promise<Connection> {
  return registered(await countOnConnection(connectionId, 'rateAt', config.MESSAGE_RATE_LIMIT, 'messages', now));
}

/**
 * Counts a request (history, members, $default) against its connection's REQUEST_RATE_LIMIT
 * and returns the caller, or undefined when the connection is not registered; rate_limited
 * past the limit.
 */
export function recordRequest(connectionId: string, now = Date.now()): Promise<Connection | undefined> {
  return countOnConnection(connectionId, 'requestAt', config.REQUEST_RATE_LIMIT, 'requests (history, members and others)', now);
}

/**
 * API Gateway closes every connection after 2 hours. An entry older than that is a ghost: its
 * $disconnect never ran (API Gateway calls it on a best-effort basis) and TTL has not removed it
 * yet (CONNECTION_TTL_SECONDS, and DynamoDB deletes expired items only within a few days). Room
 * reads leave such entries out, so nobody lists, counts or posts to them.
 */
const roomFilter = (now: number): { FilterExpression: string; values: Item } => ({
  FilterExpression: 'connectedAt > :since',
  values: { ':since': { N: String(now - MAX_CONNECTION_SECONDS * 1000) } },
});

/**
 * The connections of a room, a page at a time, from the room index (which
 * projects just what fan-out and members need): reads grow with the room, not
 * with the table. `pageSize` bounds each page, for readers that may stop early;
 * `after` starts after that connection id (the index is sorted by it). Ghosts
 * (connections past API Gateway's 2-hour limit) are left out.
 */
export async function* roomConnections(room: string, pageSize?: number, after?: string, now = Date.now()): AsyncGenerator<Connection[]> {
  const live = roomFilter(now);
  const pages = paginateQuery(
    {
      client: dynamodb,
      ...(pageSize !== undefined && { pageSize }),
      ...(after !== undefined && { startingToken: { room: { S: room }, connectionId: { S: after } } }),
    },
    {
      TableName: config.CONNECTIONS_TABLE,
      IndexName: ROOM_INDEX,
      KeyConditionExpression: 'room = :room',
      FilterExpression: live.FilterExpression,
      ProjectionExpression: CONNECTION_FIELDS,
      ExpressionAttributeNames: { '#name': 'name' },
      ExpressionAttributeValues: { ':room': { S: room }, ...live.values },
    },
  );
  for await (const page of pages) {
    yield (page.Items ?? []).map(toConnection);
  }
}

/**
 * Whether a room has `atMost` live connections already: counted from the room index, reading
 * no further than that many entries (a full room costs a bounded read, never the whole room).
 */
export async function roomIsFull(room: string, atMost: number, now = Date.now()): Promise<boolean> {
  const live = roomFilter(now);
  let count = 0;
  let ExclusiveStartKey: Item | undefined;
  do {
    const page = await dynamodb.send(
      new QueryCommand({
        TableName: config.CONNECTIONS_TABLE,
        IndexName: ROOM_INDEX,
        KeyConditionExpression: 'room = :room',
        FilterExpression: live.FilterExpression,
        ExpressionAttributeValues: { ':room': { S: room }, ...live.values },
        Select: 'COUNT',
        Limit: atMost - count,
        ...(ExclusiveStartKey && { ExclusiveStartKey }),
      }),
    );
    count += page.Count ?? 0;
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (count < atMost && ExclusiveStartKey !== undefined);
  return count >= atMost;
}

const BATCH_SIZE = 25;

/** Deletes connections in batches of 25, retrying what DynamoDB leaves unprocessed. */
export async function deleteConnections(connectionIds: readonly string[]): Promise<void> {
  for (let start = 0; start < connectionIds.length; start += BATCH_SIZE) {
    const requests = connectionIds.slice(start, start + BATCH_SIZE).map((connectionId) => ({ DeleteRequest: { Key: key(connectionId) } }));
    await sendAll(
      requests,
      async (batch) => {
        const { UnprocessedItems } = await dynamodb.send(
          new BatchWriteItemCommand({ RequestItems: { [config.CONNECTIONS_TABLE]: batch } }),
        );
        return (UnprocessedItems?.[config.CONNECTIONS_TABLE] ?? []).flatMap((request) =>
          request.DeleteRequest?.Key ? [{ DeleteRequest: { Key: request.DeleteRequest.Key } }] : [],
        );
      },
      { failure: (left) => new Error(`${left.length} stale connections left undeleted`) },
    );
  }
}
