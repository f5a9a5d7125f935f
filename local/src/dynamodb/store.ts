/**
 * The local DynamoDB: dynalite, embedded (in memory, or LevelDB on disk), listening on
 * 127.0.0.1 for the functions and for any other tool; the template's tables created in it; and
 * TTL deletion, which dynalite lacks, emulated by a periodic sweep.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  paginateScan,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { LOCAL_CREDENTIALS } from '../iam/iam.js';
import type { RuntimeLog } from '../core/log.js';
import type { TableModel, TemplateModel } from '../template/template.js';

export interface LocalStore {
  endpoint: string;
  port: number;
  client: DynamoDBClient;
  /** False when another process's store (already listening on the port) is used. */
  embedded: boolean;
  close(): Promise<void>;
}

export function storeClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { ...LOCAL_CREDENTIALS },
    maxAttempts: 2,
  });
}

/** What every request to the store passes through first (dynamodb/store-door.ts: IAM, faults). */
export type StoreInterceptor = (
  listener: (req: IncomingMessage, res: ServerResponse) => void,
) => (req: IncomingMessage, res: ServerResponse) => void;

/** Starts dynalite on host:port (0: any free port); `dataDir` keeps the data on disk. */
export async function startStore(options: {
  port: number;
  host?: string;
  dataDir?: string;
  intercept?: StoreInterceptor;
}): Promise<LocalStore> {
  const host = options.host ?? '127.0.0.1';
  let path: string | undefined;
  if (options.dataDir) {
    path = join(options.dataDir, 'dynamodb');
    mkdirSync(path, { recursive: true });
  }
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(path ? { path } : {}) });
  if (options.intercept) {
    const [listener] = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
    if (listener) {
      server.removeAllListeners('request');
      server.on('request', options.intercept(listener));
    }
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      reject(
        e.code === 'EADDRINUSE'
          ? new Error(`port ${options.port} (DYNAMODB_PORT) is in use on ${host}: stop what uses it or set DYNAMODB_PORT`)
          : e,
      );
    });
    server.listen(options.port, host, resolve);
  });
  server.keepAliveTimeout = 60_000;
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://${host}:${port}`;
  const client = storeClient(endpoint);
  return {
    endpoint,
    port,
    client,
    embedded: true,
    close: async () => {
      client.destroy();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A store already listening at `endpoint` (another `npm start`), or undefined when none answers. */
export async function existingStore(endpoint: string): Promise<LocalStore | undefined> {
  const client = storeClient(endpoint);
  try {
    await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(1000) });
  } catch {
    client.destroy();
    return undefined;
  }
  return { endpoint, port: Number(new URL(endpoint).port), client, embedded: false, close: async () => client.destroy() };
}

function createTableInput(table: TableModel): CreateTableCommandInput {
  const indexes = (list: TableModel['globalSecondaryIndexes']): CreateTableCommandInput['GlobalSecondaryIndexes'] =>
    list.length === 0 ? undefined : list.map((i) => ({ IndexName: i.IndexName, KeySchema: i.KeySchema, Projection: i.Projection }));
  return {
    TableName: table.tableName,
    AttributeDefinitions: table.attributeDefinitions,
    KeySchema: table.keySchema,
    GlobalSecondaryIndexes: indexes(table.globalSecondaryIndexes),
    LocalSecondaryIndexes: indexes(table.localSecondaryIndexes),
    BillingMode: 'PAY_PER_REQUEST',
  };
}

/** Creates the template's tables that do not exist yet and waits until they are ACTIVE. */
export async function ensureTables(client: DynamoDBClient, model: TemplateModel): Promise<void> {
  await Promise.all(
    [...model.tables.values()].map(async (table) => {
      try {
        await client.send(new CreateTableCommand(createTableInput(table)));
      } catch (e: unknown) {
        if ((e as Error).name !== 'ResourceInUseException')
          throw new Error(`creating table ${table.tableName}: ${(e as Error).message}`, { cause: e });
      }
      for (let attempt = 0; attempt < 200; attempt += 1) {
        const { Table } = await client.send(new DescribeTableCommand({ TableName: table.tableName }));
        if (Table?.TableStatus === 'ACTIVE') return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error(`table ${table.tableName} did not become ACTIVE`);
    }),
  );
}

/** Deletes the items whose TTL attribute (epoch seconds) is in the past; returns how many. */
export async function sweepExpired(client: DynamoDBClient, table: TableModel, nowSeconds = Math.floor(Date.now() / 1000)): Promise<number> {
  if (!table.ttlAttribute) return 0;
  const keys = table.keySchema.map((k) => k.AttributeName);
  const names: Record<string, string> = { '#ttl': table.ttlAttribute };
  keys.forEach((k, i) => (names[`#k${i}`] = k));
  const values = { ':now': { N: String(nowSeconds) } };
  let deleted = 0;
  const pages = paginateScan(
    { client },
    {
      TableName: table.tableName,
      FilterExpression: '#ttl < :now',
      ProjectionExpression: keys.map((_k, i) => `#k${i}`).join(', '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      try {
        await client.send(
          new DeleteItemCommand({
            TableName: table.tableName,
            Key: item,
            ConditionExpression: '#ttl < :now',
            ExpressionAttributeNames: { '#ttl': table.ttlAttribute },
            ExpressionAttributeValues: values,
          }),
        );
        deleted += 1;
      } catch (e: unknown) {
        if ((e as Error).name !== 'ConditionalCheckFailedException') throw e;
      }
    }
  }
  return deleted;
}

/** Runs the TTL sweep every `intervalMs`; returns the function that stops it. */
export function startTtlSweeper(client: DynamoDBClient, model: TemplateModel, intervalMs: number, log: RuntimeLog): () => Promise<void> {
  const tables = [...model.tables.values()].filter((t) => t.ttlAttribute);
  let running: Promise<void> = Promise.resolve();
  const sweep = async (): Promise<void> => {
    for (const table of tables) {
      try {
        const deleted = await sweepExpired(client, table);
        if (deleted > 0) log.info(`TTL: deleted ${deleted} expired item(s) from ${table.tableName}`);
      } catch (e: unknown) {
        log.warn(`TTL sweep of ${table.tableName} failed: ${(e as Error).message}`);
      }
    }
  };
  const timer =
    tables.length === 0
      ? undefined
      : setInterval(() => {
          running = running.then(sweep);
        }, intervalMs);
  timer?.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
