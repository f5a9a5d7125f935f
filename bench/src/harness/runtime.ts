/**
 * The local runtime as the benchmark uses it: template.yaml, ephemeral ports on 127.0.0.1,
 * silent, and a shutdown that first lets every $disconnect finish (closing the store under
 * running invocations is not what is measured here).
 */
import { join } from 'node:path';
import type WebSocket from 'ws';
import { startLocalRuntime, type LocalRuntime } from 'sam-websocket-local';
import { type AttributeValue, DynamoDBClient, paginateQuery } from '@aws-sdk/client-dynamodb';
import { closeAll, connectMany, Receipts } from './clients';
import { sleep } from './stats';

/** The SAM app the benchmark measures (its template.yaml, docs/ and .aws-sam/): this repository's root. */
export const PROJECT_DIR = join(__dirname, '..', '..', '..');

export interface RuntimeOptions {
  parameterOverrides?: Record<string, string>;
  env?: Record<string, string>;
  /** The runtime's tracing of Tracing Active functions (default: on, as shipped). */
  tracing?: boolean;
  /** Sandboxes per function (the runtime's default: 8). */
  maxConcurrency?: number;
}

/** Set once by run.ts: quick runs start fewer sandboxes per function (each cold start compiles the layer). */
export const runtimeDefaults: { maxConcurrency?: number } = {};

/**
 * The message rate limit is raised to 1000 messages per 10 s per connection (MESSAGE_RATE_LIMIT) so that the benchmark measures fan-out rather than the rate limit, and so are
 * the limits per identity: every client comes from 127.0.0.1 here, one address for a
 * thousand clients that on AWS would have as many.
 */
export function startRuntime(options: RuntimeOptions = {}): Promise<LocalRuntime> {
  return startLocalRuntime({
    templatePath: join(PROJECT_DIR, 'template.yaml'),
    port: 0,
    dynamodbPort: 0,
    quiet: process.env.BENCH_VERBOSE !== '1',
    ...((options.maxConcurrency ?? runtimeDefaults.maxConcurrency)
      ? { maxConcurrency: options.maxConcurrency ?? runtimeDefaults.maxConcurrency }
      : {}),
    ...(options.parameterOverrides && { parameterOverrides: options.parameterOverrides }),
    ...(options.tracing !== undefined && { tracing: options.tracing }),
    env: {
      MESSAGE_RATE_LIMIT: '1000',
      CONNECT_RATE_LIMIT: '100000',
      IDENTITY_MESSAGE_RATE_LIMIT: '100000',
      IDENTITY_REQUEST_RATE_LIMIT: '100000',
      ...options.env,
    },
  });
}

const invocations = (runtime: LocalRuntime, functionId: string): number => runtime.stats()[functionId]?.invocations ?? 0;

/** Waits until $disconnect has run as often as $connect (or `timeoutMs` passed). */
export async function drainDisconnects(runtime: LocalRuntime, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (invocations(runtime, 'DisconnectFunction') >= invocations(runtime, 'ConnectFunction')) return true;
    await sleep(50);
  }
  return false;
}

/** Closes the clients, lets their $disconnects run, then stops the runtime. */
export async function stopRuntime(runtime: LocalRuntime, sockets: readonly WebSocket[], drainMs = 120_000): Promise<void> {
  await closeAll(sockets);
  await drainDisconnects(runtime, drainMs);
  await runtime.close();
}

export interface Room {
  name: string;
  /** A plain connection that sends; as in the tutorial it does not receive its own messages. */
  sender: WebSocket;
  recipients: WebSocket[];
  /** Notes what the recipients receive. */
  receipts: Receipts;
}

/** A room of `size` plain recipients and one plain sender, connected through $connect. */
export async function openRoom(runtime: LocalRuntime, name: string, size: number): Promise<Room> {
  const url =
    (role: string) =>
    (index: number): string =>
      `${runtime.wsUrl}?room=${name}&name=${role}${index}`;
  const [sender] = await connectMany(url('sender'), 1);
  const recipients = await connectMany(url('r'), size);
  const receipts = new Receipts();
  recipients.forEach((ws) => receipts.listen(ws));
  return { name, sender: sender as WebSocket, recipients, receipts };
}

/** The items of a room's index entries (byRoom), as the functions read them. */
export async function roomItems(runtime: LocalRuntime, room: string): Promise<Record<string, AttributeValue>[]> {
  const client = new DynamoDBClient({
    endpoint: runtime.dynamodbEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const items: Record<string, AttributeValue>[] = [];
  try {
    const pages = paginateQuery(
      { client },
      {
        TableName: runtime.tables.ConnectionsTable,
        IndexName: 'byRoom',
        KeyConditionExpression: 'room = :room',
        ExpressionAttributeValues: { ':room': { S: room } },
      },
    );
    for await (const page of pages) items.push(...(page.Items ?? []));
  } finally {
    client.destroy();
  }
  return items;
}

/** The connection ids of a room. */
export async function roomIds(runtime: LocalRuntime, room: string): Promise<string[]> {
  return (await roomItems(runtime, room)).flatMap((item) => (item.connectionId?.S ? [item.connectionId.S] : []));
}

export const roomSockets = (room: Room): WebSocket[] => [room.sender, ...room.recipients];

/** The environment of SendMessageFunction's sandboxes, for loading the layer in a poster worker. */
export function layerEnv(runtime: LocalRuntime): Record<string, string> {
  const fn = runtime.template.functions.get('SendMessageFunction');
  return {
    ...fn?.environment,
    NODE_OPTIONS: '',
    CONNECTIONS_TABLE: runtime.tables.ConnectionsTable ?? '',
    MESSAGES_TABLE: runtime.tables.MessagesTable ?? '',
    CONNECTIONS_URL: runtime.connectionsUrl,
    AWS_ENDPOINT_URL_DYNAMODB: runtime.dynamodbEndpoint,
    AWS_LAMBDA_FUNCTION_NAME: fn?.functionName ?? 'SendMessageFunction',
    AWS_SAM_LOCAL: 'true',
    POWERTOOLS_DEV: 'true',
  };
}
