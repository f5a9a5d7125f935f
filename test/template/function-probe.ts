/**
 * Runs one function the way a fresh Lambda sandbox would: imported in a process whose
 * environment is what the caller passes (the template's variables of that function, nothing
 * else of the chat's), then invoked on its sample event from events/, with AWS mocked.
 * environment.test.ts starts it once per function and variable.
 *
 * It invokes the handler in two worlds, so that every path that reads configuration runs:
 * a room of `small` other connections (one of them gone: posts answer 410, the stale
 * connection is deleted; one throttled: posts answer 429, and are queued for redelivery) and a
 * room of `large` others, with too little time left for any post (so that what a function
 * hands to the fan-out queue then runs too). In a fan-out shard, the last recipient is the
 * throttled one. The room's presence item (presence.ts) answers as DynamoDB would: the notice
 * is the one that schedules the flush, and a flush takes one pending notice. Each world's outcome is what the
 * handler returned or threw, and how many calls of each AWS command it made.
 *
 * An authorizer's event (type REQUEST) gets a token: the probe plays the issuer that the
 * function's environment names (TOKEN_ISSUER, TOKEN_AUDIENCE), serving its discovery document
 * and keys to the function's fetch, and the outcome lists the URLs fetched.
 *
 * Usage: node --import tsx test/template/function-probe.ts <functionDir> <event.json> <small> <large> <result.json>
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  ApiGatewayManagementApiClient,
  GetConnectionCommand,
  GoneException,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

export interface Outcome {
  /** JSON of what the handler returned, or `threw <name>: <message>`. */
  result: string;
  /** `<Command>: <count>`, sorted. */
  calls: string[];
}

export type ProbeResult = Record<'small' | 'large', Outcome>;

const [functionDir = '', eventFile = '', small = '', large = '', resultFile = ''] = process.argv.slice(2);
if (!functionDir || !eventFile || !small || !large || !resultFile)
  throw new Error('usage: function-probe.ts <functionDir> <event.json> <small> <large> <result.json>');

/** Long connected, so that a 410 deletes them (broadcast spares connections still connecting). */
const CONNECTED_AT = '1643136604673';
const event = JSON.parse(readFileSync(eventFile, 'utf8')) as {
  type?: string;
  queryStringParameters?: Record<string, string>;
  requestContext?: { connectionId?: string };
};
const caller = event.requestContext?.connectionId ?? 'no-caller';
/**
 * A WebSocket caller is signed in, as a moderator (the authorizer's context, as API Gateway hands
 * it on), so that the paths of signed-in callers run too: the ban check of $connect, moderation.
 */
if (caller !== 'no-caller') {
  (event.requestContext as Record<string, unknown>).authorizer = { userId: 'probe-user', name: 'alice', rooms: '[]', moderator: 'true' };
}

/** Connections whose posts are throttled past the SDK's retries: one in the room, the last of a shard's recipients. */
function throttledConnections(): Set<string> {
  const shard = (event as { Records?: { body?: string }[] }).Records?.[0]?.body;
  const recipients = shard === undefined ? [] : (JSON.parse(shard) as { recipients: [string][] }).recipients;
  return new Set(['throttled-0', ...recipients.slice(-1).map(([id]) => id)]);
}
const throttled = throttledConnections();

const connection = (connectionId: string): Record<string, AttributeValue> => ({
  connectionId: { S: connectionId },
  room: { S: 'lobby' },
  name: { S: connectionId === caller ? 'alice' : `peer ${connectionId}` },
  protocol: { S: 'chat.v1' },
  connectedAt: { N: CONNECTED_AT },
});

const message = (id: string): Record<string, AttributeValue> => ({
  room: { S: 'lobby' },
  id: { S: id },
  name: { S: 'bob' },
  text: { S: 'earlier' },
  sentAt: { S: '2022-01-25T18:50:00.000Z' },
});

const dynamodb = mockClient(DynamoDBClient);
const management = mockClient(ApiGatewayManagementApiClient);
const sqs = mockClient(SQSClient);

/** The caller, `others - 2` live peers, one throttled and one gone connection, all in room lobby (until the caller is deleted). */
function world(others: number): void {
  dynamodb.reset();
  management.reset();
  sqs.reset();
  const peers = Array.from({ length: others - 2 }, (_, i) => `peer-${i}`);
  const alive = new Set([caller, ...peers]);
  let room = [caller, ...peers, 'throttled-0', 'gone-0'].map(connection);
  // The caller's connection; no ban on anyone (moderation.ts keys bans ban#<room>).
  dynamodb
    .on(GetItemCommand)
    .callsFake((input: { Key?: Record<string, AttributeValue> }) =>
      input.Key?.room?.S?.startsWith('ban#') ? {} : { Item: connection(caller) },
    );
  const pendingNotice: AttributeValue = {
    M: { event: { S: 'join' }, name: { S: 'peer' }, connectionId: { S: 'peer-0' }, protocol: { S: 'chat.v1' }, at: { N: CONNECTED_AT } },
  };
  dynamodb
    .on(UpdateItemCommand)
    .callsFake((input: { Key?: Record<string, AttributeValue>; ExpressionAttributeValues?: Record<string, AttributeValue> }) => {
      if (!input.Key?.connectionId?.S?.startsWith('presence#')) return { Attributes: connection(caller) };
      const token = input.ExpressionAttributeValues?.[':token'] ?? { S: 'probe' };
      return { Attributes: { changes: { L: [pendingNotice] }, scheduled: token } };
    });
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm-presence' });
  dynamodb.on(DeleteItemCommand).callsFake(() => {
    room = room.filter((item) => item.connectionId?.S !== caller);
    return { Attributes: connection(caller) };
  });
  dynamodb.on(PutItemCommand).resolves({});
  dynamodb.on(BatchWriteItemCommand).resolves({ UnprocessedItems: {} });
  dynamodb
    .on(QueryCommand)
    .callsFake((input: { IndexName?: string }) =>
      input.IndexName === undefined ? { Items: [message('01FT9N3Z00AAAAAAAAAAAAAAAA')] } : { Items: room },
    );
  management.on(PostToConnectionCommand).callsFake((input: { ConnectionId?: string }) => {
    if (alive.has(input.ConnectionId ?? '')) return {};
    if (throttled.has(input.ConnectionId ?? ''))
      throw new LimitExceededException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } });
    throw new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } });
  });
  const at = new Date(Number(CONNECTED_AT));
  management
    .on(GetConnectionCommand)
    .resolves({ ConnectedAt: at, LastActiveAt: at, Identity: { SourceIp: '192.0.2.1', UserAgent: 'probe' } });
  sqs.on(SendMessageBatchCommand).callsFake((input: { Entries?: { Id?: string }[] }) => ({
    Successful: (input.Entries ?? []).map((entry) => ({ Id: entry.Id, MessageId: `m-${entry.Id}`, MD5OfMessageBody: '' })),
    Failed: [],
  }));
}

/** URLs the function fetched (an authorizer: the issuer's discovery document and keys). */
const fetched: string[] = [];

/**
 * The issuer of TOKEN_ISSUER, as far as the function can tell: its discovery document and its
 * keys served to fetch, and a token it signed, for the first audience of TOKEN_AUDIENCE, put
 * in the event's query string. Without those variables the token names no issuer or audience.
 */
async function playIssuer(): Promise<void> {
  const issuer = process.env.TOKEN_ISSUER ?? '';
  const audience = (process.env.TOKEN_AUDIENCE ?? '').split(',')[0] ?? '';
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'probe', alg: 'RS256', use: 'sig' };
  globalThis.fetch = async (input: string | URL | Request): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input);
    fetched.push(url);
    const body = url.endsWith('/.well-known/openid-configuration') ? { issuer, jwks_uri: `${issuer}/probe-jwks.json` } : { keys: [jwk] };
    return Response.json(body);
  };
  // In the moderators group (the template's default ModeratorsGroup), by the claim either mode reads.
  const token = await new SignJWT({ name: 'alice', token_use: 'id', 'cognito:groups': ['moderators'], groups: ['moderators'] })
    .setProtectedHeader({ alg: 'RS256', kid: 'probe' })
    .setSubject('probe-user')
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(privateKey);
  event.queryStringParameters = { ...event.queryStringParameters, token };
}

function calls(): string[] {
  const counts = new Map<string, number>();
  for (const url of fetched.splice(0)) counts.set(`fetch ${url}`, (counts.get(`fetch ${url}`) ?? 0) + 1);
  for (const call of [...dynamodb.calls(), ...management.calls(), ...sqs.calls()]) {
    const name = (call.args[0] as object).constructor.name;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].map(([name, count]) => `${name}: ${count}`).sort();
}

let remainingMs = 10_000;
const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: path.basename(functionDir),
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${path.basename(functionDir)}`,
  memoryLimitInMB: '512',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/probe',
  logStreamName: 'probe',
  getRemainingTimeInMillis: () => remainingMs,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} satisfies Context;

async function run(others: number, timeLeftMs: number): Promise<Outcome> {
  world(others);
  remainingMs = timeLeftMs;
  let result: string;
  try {
    // Imported at the first invocation, as Lambda's init phase would: configuration errors show here.
    const { handler } = (await import(path.resolve(functionDir, 'index.ts'))) as { handler: (e: unknown, c: Context) => Promise<unknown> };
    result = JSON.stringify((await handler(structuredClone(event), context)) ?? null);
  } catch (error: unknown) {
    result = error instanceof Error ? `threw ${error.name}: ${error.message}` : `threw ${String(error)}`;
  }
  return { result, calls: calls() };
}

async function main(): Promise<void> {
  if (event.type === 'REQUEST') await playIssuer();
  // Large: 4 s left, less than one post's timeout and the hand-off reserve (fanout.ts).
  const outcome: ProbeResult = { small: await run(Number(small), 10_000), large: await run(Number(large), 4_000) };
  writeFileSync(resultFile, JSON.stringify(outcome));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
