/**
 * Shared helpers of the unit tests: the SDK mocks (one per client class, created once:
 * `mockClient` replaces an existing stub, so a second call in another file would leave
 * this one dead), the sample events of `events/` loaded and typed, a typed dummy Lambda
 * Context, DynamoDB item builders, and small async tools.
 */
import { readFileSync } from 'node:fs';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { expect } from 'chai';
import { type BackendEvent, type Frame, type WebSocketEvent } from 'chat-core';
import { forgetSenderRooms } from '../../layers/chat-core/src/messages/sender-rooms';
import { encodeIdentity } from 'chat-core/identity';
import type { ConnectAuthorizerEvent } from '../../functions/authorizer/authorizer';

/** Every DynamoDB client (the layer builds one) answers from here. */
export const ddbMock = mockClient(DynamoDBClient);
/** The fan-out queue's URL, for tests that give a function or the layer one. */
export const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/fanout';

/** A stored message as a `message` frame, of the sample events' room and time. */
export const MESSAGE_FRAME: Frame = {
  type: 'message',
  id: '01HQ3Z9V5X8G2M4N6P7R8S9T0V',
  room: 'lobby',
  name: 'alice',
  text: 'hello, everyone!',
  sentAt: '2022-01-25T18:50:07.642Z',
};

/** Every Management API client (one per endpoint) answers from here. */
export const apiMock = mockClient(ApiGatewayManagementApiClient);
/** The fan-out queue's client. */
export const sqsMock = mockClient(SQSClient);

/**
 * Powertools Metrics (dev mode: the global console) warns on every invocation that
 * publishes no metric (default, history, members, every refused request). That
 * warning, and only that one, is kept out of the test output.
 */
const EMPTY_METRICS_WARNING = 'No application metrics to publish.';
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]): void => {
  if (typeof args[0] === 'string' && args[0].startsWith(EMPTY_METRICS_WARNING)) return;
  warn(...args);
};

/** Every mock back to "no behaviour, no calls": call it in every `beforeEach`. */
export function resetMocks(): void {
  forgetSenderRooms(); // a cold sandbox: no sender's room known
  ddbMock.reset();
  apiMock.reset();
  sqsMock.reset();
}

// ------------------------------------------------------------------------------ events

export type EventName = 'connect' | 'connect-chat-v1' | 'disconnect' | 'sendmessage' | 'default' | 'history' | 'members' | 'moderate';

/** `events/<name>.json` of the backend API (HTTP API payload 2.0, IAM-authorised), a fresh copy. */
export function loadBackendEvent(name: 'publish' | 'moderate-backend'): BackendEvent {
  return JSON.parse(readFileSync(new URL(`${name}.json`, EVENTS_DIR), 'utf8')) as BackendEvent;
}

const EVENTS_DIR = new URL('../../events/', import.meta.url);
const loaded = new Map<EventName, WebSocketEvent>();

/** A fresh deep copy of `events/<name>.json`, free to be changed by the test. */
export function loadEvent(name: EventName): WebSocketEvent {
  let event = loaded.get(name);
  if (!event) {
    event = JSON.parse(readFileSync(new URL(`${name}.json`, EVENTS_DIR), 'utf8')) as WebSocketEvent;
    loaded.set(name, event);
  }
  return structuredClone(event);
}

/** `events/authorizer.json`: the REQUEST authorizer event of a `$connect` (a fresh copy). */
export function loadAuthorizerEvent(): ConnectAuthorizerEvent & {
  headers: Record<string, string>;
  queryStringParameters: Record<string, string>;
} {
  return JSON.parse(readFileSync(new URL('authorizer.json', EVENTS_DIR), 'utf8')) as ReturnType<typeof loadAuthorizerEvent>;
}

/**
 * `event` as it arrives behind the authorizer (AuthMode cognito or oidc): its policy context,
 * as functions/authorizer encodes it, in `requestContext.authorizer`, with what API Gateway adds.
 */
export function authorized<E extends WebSocketEvent>(
  event: E,
  identity: { userId: string; name: string; rooms?: string[]; moderator?: boolean },
): E {
  const context = encodeIdentity({ rooms: [], moderator: false, ...identity });
  event.requestContext.authorizer = { ...context, principalId: identity.userId, integrationLatency: 12 };
  return event;
}

/** The connection id every sample event carries. */
export const CALLER_ID = 'Mg_ugfpqPHcCIVA=';

// ----------------------------------------------------------------------------- context

/** A typed dummy Lambda context (Powertools Logger reads its fields). */
export function lambdaContext(functionName = 'chat-test'): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2022/01/25/[$LATEST]abcdef0123456789',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

// ------------------------------------------------------------------------------- items

export type Item = Record<string, AttributeValue>;

export interface ConnectionFields {
  connectionId: string;
  room?: string;
  name?: string;
  protocol?: 'plain' | 'chat.v1';
  connectedAt?: number;
  /** Only connections of an authenticated stack (AuthMode) have one. */
  userId?: string;
}

/** When the sample events' connection connected: long enough ago to be past the connect grace. */
export const CONNECTED_AT = 1643136604673;

/** A connections-table item (or room-index projection) as DynamoDB returns it. */
export function connectionItem({
  connectionId,
  room = 'lobby',
  name,
  protocol = 'plain',
  connectedAt = CONNECTED_AT,
  userId,
}: ConnectionFields): Item {
  return {
    connectionId: { S: connectionId },
    room: { S: room },
    name: { S: name ?? `user-${connectionId}` },
    protocol: { S: protocol },
    connectedAt: { N: String(connectedAt) },
    ...(userId !== undefined && { userId: { S: userId } }),
  };
}

/** What DynamoDB's client throws when a write's condition does not hold. */
export function conditionFailed(): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
}

/**
 * The caller (CALLER_ID), as the connections table answers a request counted against one of
 * its buckets (sendmessage, history, members, $default): its item after the token was taken, and
 * when read (as an error reply does, for the protocol). Without fields, an unregistered caller:
 * the conditional write fails and the read finds nothing.
 */
export function givenCaller(fields?: Omit<ConnectionFields, 'connectionId'>): void {
  const table = { TableName: 'connections-table' };
  if (fields) {
    const item = connectionItem({ connectionId: CALLER_ID, ...fields });
    ddbMock.on(UpdateItemCommand, table).resolves({ Attributes: item });
    ddbMock.on(GetItemCommand, table).resolves({ Item: item });
  } else {
    ddbMock.on(UpdateItemCommand, table).rejects(conditionFailed());
    ddbMock.on(GetItemCommand, table).resolves({});
  }
}

/** `count` room-index items with ids `${prefix}0`, `${prefix}1`, … */
export function connectionItems(count: number, prefix = 'conn-', fields: Omit<ConnectionFields, 'connectionId'> = {}): Item[] {
  return Array.from({ length: count }, (_, i) => connectionItem({ ...fields, connectionId: `${prefix}${i}` }));
}

// --------------------------------------------------------------------------- assertions

/**
 * Awaits a promise that must reject and returns its reason; fails the test when it
 * resolves. Optionally checks the reason's class.
 */
export async function expectRejection<E extends Error = Error>(
  promise: Promise<unknown>,
  type?: abstract new (...args: never[]) => E,
): Promise<E> {
  let settled: { ok: true; value: unknown } | { ok: false; reason: unknown };
  try {
    settled = { ok: true, value: await promise };
  } catch (reason: unknown) {
    settled = { ok: false, reason };
  }
  if (settled.ok) expect.fail(`expected a rejection, got a resolution with ${JSON.stringify(settled.value)}`);
  if (type) expect(settled.reason).to.be.instanceOf(type);
  return settled.reason as E;
}

/** Calls a function that must throw synchronously and returns what it threw. */
export function expectThrow<E extends Error = Error>(fn: () => unknown, type?: abstract new (...args: never[]) => E): E {
  let thrown: { error: unknown } | undefined;
  try {
    fn();
  } catch (error: unknown) {
    thrown = { error };
  }
  if (!thrown) return expect.fail('expected a throw, nothing was thrown');
  if (type) expect(thrown.error).to.be.instanceOf(type);
  return thrown.error as E;
}

// ------------------------------------------------------------------------ Management API

/** Every PostToConnection sent, as (connection id, UTF-8 text), in call order. */
export function posts(): { to: string; text: string }[] {
  return apiMock.commandCalls(PostToConnectionCommand).map((call) => ({
    to: call.args[0].input.ConnectionId ?? '',
    text: Buffer.from(call.args[0].input.Data as Uint8Array).toString('utf8'),
  }));
}

/** The posts to one connection, parsed as JSON frames. */
export function framesTo(connectionId: string): Record<string, unknown>[] {
  return posts()
    .filter((post) => post.to === connectionId)
    .map((post) => JSON.parse(post.text) as Record<string, unknown>);
}

// ----------------------------------------------------------------------------- async

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every pending promise callback and I/O callback run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Watches a promise: `state.settled` turns true once it has settled (read it after
 * `flush()` or a fake-clock tick). Its rejection is handled, so nothing is reported as
 * unhandled while the test is still waiting for it.
 */
export function watch(promise: Promise<unknown>): { settled: boolean } {
  const state = { settled: false };
  promise.then(
    () => {
      state.settled = true;
    },
    () => {
      state.settled = true;
    },
  );
  return state;
}

// ---------------------------------------------------------------------- presence items

/** A room's presence item (presence.ts) as the fake below keeps it. */
export interface PresenceItemState {
  changes: AttributeValue[];
  scheduled?: string;
  lastFlushAt?: number;
  incomplete?: boolean;
}

/**
 * Answers the presence item's UpdateItem calls (keys `presence#<room>`) as DynamoDB would,
 * one room's item per key, kept in `items`: the append of a notice (refused once it holds
 * `max` of them), the mark of a full batch, the take-over and the clearing of a schedule, and
 * the flush that takes the notices. Other UpdateItem calls get `other` (or nothing).
 */
export function fakePresenceItems(other?: (input: UpdateItemCommandInput) => unknown): Map<string, PresenceItemState> {
  const items = new Map<string, PresenceItemState>();
  const failed = (): ConditionalCheckFailedException =>
    new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
  const attributes = (item: PresenceItemState): Record<string, AttributeValue> => ({
    ...(item.changes.length > 0 && { changes: { L: [...item.changes] } }),
    ...(item.scheduled !== undefined && { scheduled: { S: item.scheduled } }),
    ...(item.lastFlushAt !== undefined && { lastFlushAt: { N: String(item.lastFlushAt) } }),
    ...(item.incomplete && { incomplete: { BOOL: true } }),
  });
  ddbMock.on(UpdateItemCommand).callsFake((input: UpdateItemCommandInput) => {
    const id = input.Key?.connectionId?.S ?? '';
    if (!id.startsWith('presence#')) return other?.(input) ?? {};
    const values = input.ExpressionAttributeValues ?? {};
    const item = items.get(id) ?? { changes: [] };
    items.set(id, item);
    const token = values[':token']?.S;
    if (values[':change'] !== undefined) {
      if (item.changes.length >= Number(values[':max']?.N)) throw failed();
      item.changes.push(...(values[':change'].L ?? []));
      item.scheduled ??= token;
      return { Attributes: attributes(item) };
    }
    if (values[':true'] !== undefined) {
      item.incomplete = true;
      item.scheduled ??= token;
      return { Attributes: attributes(item) };
    }
    if (values[':lost'] !== undefined) {
      if (item.scheduled !== values[':lost'].S) throw failed();
      item.scheduled = token;
      return {};
    }
    if (item.scheduled !== token) throw failed();
    if (values[':now'] === undefined) {
      delete item.scheduled;
      return {};
    }
    const old = attributes(item);
    items.set(id, { changes: [], lastFlushAt: Number(values[':now'].N) });
    return { Attributes: old };
  });
  return items;
}

/** A command as `send` runs it: its middleware resolved over the client's stack. */
interface StackCommand<I, O> {
  input: I;
  resolveMiddleware(stack: unknown, config: unknown, options: unknown): (args: { input: I }) => Promise<{ output: O }>;
}

/**
 * Runs a command the way the client's `send` runs it, for tests of the client's own middleware
 * (the SDK mocks above replace `send` itself on every client).
 */
export const runAsSend = <I, O>(
  client: { middlewareStack: unknown; config: unknown },
  command: StackCommand<I, O>,
  options: { abortSignal?: AbortSignal } = {},
): Promise<O> =>
  command
    .resolveMiddleware(
      client.middlewareStack,
      client.config,
      options,
    )({ input: command.input })
    .then(({ output }) => output);
