import {
  type AttributeValue,
  ConditionalCheckFailedException,
  UpdateItemCommand,
  type UpdateItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { dynamodb } from '../platform/aws';
import { RATE_WINDOW_SECONDS, config } from '../platform/config';
import { ChatError } from '../wire/errors';
import type { WebSocketRequestContext } from '../wire/event';
import { decodeIdentity } from '../identity/identity';

type Item = Record<string, AttributeValue>;

/** One token bucket: an item of a table, and the attribute that keeps its state. */
export interface Bucket {
  table: string;
  key: Item;
  /** Tokens per RATE_WINDOW_SECONDS: the burst, and the steady rate. */
  limit: number;
  /** The attribute holding when the bucket is full again (epoch ms). */
  attribute: string;
  /**
   * The bucket is an attribute of an item that is created with it (a connection's buckets, set
   * full when the connection is saved): no item, no token. Otherwise a missing attribute (or
   * item) is a full bucket.
   */
  createdWithItem?: boolean;
  /** Epoch seconds to set as the item's TTL attribute `expiresAt`, for items that exist only as buckets. */
  expiresAt?: number;
}

/**
 * Takes one token from a bucket and returns the item as it is afterwards, or undefined when
 * the bucket is empty. One write on the common path.
 *
 * The bucket is kept as one timestamp (the generic cell rate algorithm): when the bucket will
 * be full again. Each token moves it one interval (RATE_WINDOW_SECONDS / limit) later; a token
 * that would move it more than a full bucket ahead of now is refused. So a burst of `limit`
 * passes, the next waits one interval, and unlike a fixed window there is no boundary at which
 * a second burst gets in. The timestamp only ever moves forward, so invocations with slightly
 * different clocks cannot undo each other's counting.
 *
 * The conditions have no parentheses: DynamoDB does not mind, but the local runtime's store
 * (dynalite) parses a parenthesised condition about twenty times slower than a comparison, on
 * the thread that serves every connection.
 */
export async function takeToken(bucket: Bucket, now = Date.now()): Promise<Item | undefined> {
  const interval = (RATE_WINDOW_SECONDS * 1000) / bucket.limit;
  const ttl = bucket.expiresAt === undefined ? '' : ', expiresAt = :expiresAt';
  const common = {
    TableName: bucket.table,
    Key: bucket.key,
    ReturnValues: 'ALL_NEW' as const,
  };
  // The attribute is one of the layer's own names (never input), so it is written in place.
  const at = bucket.attribute;
  const expiresAt: Item = bucket.expiresAt === undefined ? {} : { ':expiresAt': { N: String(bucket.expiresAt) } };
  // The bucket is full (nothing taken for a while, or never): it restarts from now.
  const fromFull = new UpdateItemCommand({
    ...common,
    UpdateExpression: `SET ${at} = :next${ttl}`,
    ConditionExpression: bucket.createdWithItem ? `${at} <= :now` : `attribute_not_exists(${at}) OR ${at} <= :now`,
    ExpressionAttributeValues: { ':now': { N: String(now) }, ':next': { N: String(now + interval) }, ...expiresAt },
  });
  // Tokens in a row: one more interval, if the bucket has a token left.
  const inBurst = new UpdateItemCommand({
    ...common,
    UpdateExpression: `SET ${at} = ${at} + :interval${ttl}`,
    ConditionExpression: `${at} > :now AND ${at} <= :latest`,
    ExpressionAttributeValues: {
      ':now': { N: String(now) },
      ':interval': { N: String(interval) },
      ':latest': { N: String(now + (bucket.limit - 1) * interval) },
      ...expiresAt,
    },
  });
  // When the first fails, the timestamp is past `now` and only grows, so the second decides.
  for (const update of [fromFull, inBurst]) {
    try {
      const result: UpdateItemCommandOutput | undefined = await dynamodb.send(update);
      return result?.Attributes ?? {};
    } catch (error: unknown) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
  return undefined;
}

/** What a limited request is counted as: each kind has its own buckets. */
export type LimitedKind = 'connect' | 'message' | 'request' | 'backend';

/**
 * Who a request is counted against beyond its connection: the signed-in person (the token's
 * subject, `requestContext.authorizer`, AuthMode cognito or oidc), else the source IP that API
 * Gateway saw. Both are set by API Gateway on every event, never by the client.
 */
export function limitSubject(requestContext: WebSocketRequestContext): string {
  const identity = decodeIdentity(requestContext.authorizer);
  return identity ? `user#${identity.userId}` : `ip#${requestContext.identity.sourceIp}`;
}

/**
 * A bucket item lives a window past its last token (then the bucket is full, as if the item
 * were not there) and a margin for clock differences; DynamoDB TTL removes it later.
 */
const bucketExpiry = (now: number): number => Math.floor(now / 1000) + 2 * RATE_WINDOW_SECONDS + 60;

function bucketOf(kind: LimitedKind, subject: string, limit: number, now: number): Bucket {
  return {
    table: config.RATE_LIMITS_TABLE,
    key: { bucket: { S: `${kind}#${subject}` } },
    limit,
    attribute: 'rateAt',
    expiresAt: bucketExpiry(now),
  };
}

/** The rate_limited error: `what` past `limit` per window, from `whose` (this connection, your address or account). */
export const refusal = (what: string, limit: number, whose: string): ChatError =>
  new ChatError('rate_limited', `more than ${limit} ${what} in ${RATE_WINDOW_SECONDS} seconds from ${whose}; wait a moment`);

/** The identity's (or source IP's) bucket of a kind; throws rate_limited when it is empty. */
async function limitIdentity(kind: LimitedKind, requestContext: WebSocketRequestContext, limit: number, now = Date.now()): Promise<void> {
  const subject = limitSubject(requestContext);
  if ((await takeToken(bucketOf(kind, subject, limit, now), now)) === undefined) {
    const what = kind === 'connect' ? 'connects' : kind === 'message' ? 'messages' : 'requests';
    throw refusal(what, limit, subject.startsWith('user#') ? 'your account' : 'your address');
  }
}

/** A connect, counted against the identity or source IP (CONNECT_RATE_LIMIT). */
export function limitConnect(requestContext: WebSocketRequestContext, now = Date.now()): Promise<void> {
  return limitIdentity('connect', requestContext, config.CONNECT_RATE_LIMIT, now);
}

/**
 * A sendmessage frame, counted against the identity or source IP over all its connections
 * (IDENTITY_MESSAGE_RATE_LIMIT); the connection's own bucket is recordMessageSent's.
 */
export function limitMessage(requestContext: WebSocketRequestContext, now = Date.now()): Promise<void> {
  return limitIdentity('message', requestContext, config.IDENTITY_MESSAGE_RATE_LIMIT, now);
}

/**
 * A request (history, members, $default), counted against the identity or source IP over all
 * its connections (IDENTITY_REQUEST_RATE_LIMIT); the connection's own bucket is recordRequest's.
 */
export function limitRequest(requestContext: WebSocketRequestContext, now = Date.now()): Promise<void> {
  return limitIdentity('request', requestContext, config.IDENTITY_REQUEST_RATE_LIMIT, now);
}

/** A publish or a moderation action of the backend API, counted against its caller, an IAM principal (BACKEND_RATE_LIMIT). */
export async function limitBackendCaller(caller: string, now = Date.now()): Promise<void> {
  if ((await takeToken(bucketOf('backend', caller, config.BACKEND_RATE_LIMIT, now), now)) === undefined) {
    throw refusal('publishes and moderation actions', config.BACKEND_RATE_LIMIT, 'this caller');
  }
}
