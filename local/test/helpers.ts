/**
 * For the runtime's own tests (and the chat's): a runtime on the fixture template
 * (fixtures/template.yaml: routes, functions and a layer that exercise the runtime itself),
 * real WebSocket clients that keep what they receive, a refused connect's status, a client of
 * the runtime's store, the events the fixture functions keep, and polling until a condition holds.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import WebSocket from 'ws';
import { startLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from '../src/index';

export const FIXTURE_TEMPLATE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'template.yaml');

export interface Closed {
  code: number;
  reason: string;
}

/** A connected client that keeps what it receives, in order. */
export class Client {
  readonly messages: string[] = [];
  readonly closed: Promise<Closed>;
  private waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.messages.push(data.toString('utf8'));
      this.waiters.splice(0).forEach((wake) => wake());
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  send(data: string | object): void {
    this.ws.send(typeof data === 'string' ? data : JSON.stringify(data));
  }

  /** The next message not read yet (waits up to `timeoutMs`). */
  async next(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.messages.shift() as string;
  }

  async nextJson<T = Record<string, unknown>>(timeoutMs?: number): Promise<T> {
    return JSON.parse(await this.next(timeoutMs)) as T;
  }

  /** Asserts, by waiting, that nothing arrives for `ms`. */
  async quietFor(ms: number): Promise<string[]> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return [...this.messages];
  }

  async close(code?: number, reason?: string): Promise<Closed> {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason);
    return this.closed;
  }
}

/** Connects; rejects with the HTTP status when the server refuses the upgrade. */
export function connect(url: string, options: WebSocket.ClientOptions & { protocols?: string[] } = {}): Promise<Client> {
  const { protocols, ...rest } = options;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols ?? [], rest);
    ws.once('open', () => resolve(new Client(ws)));
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        reject(
          Object.assign(new Error(`refused: ${res.statusCode}`), {
            status: res.statusCode,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        ),
      );
    });
    ws.once('error', reject);
  });
}

/** The HTTP status and body a refused upgrade gets; fails if the connection is accepted. */
export async function refusal(url: string, options: WebSocket.ClientOptions = {}): Promise<{ status: number; body: string }> {
  try {
    const client = await connect(url, options);
    await client.close();
  } catch (e: unknown) {
    const { status, body } = e as { status?: number; body?: string };
    if (status !== undefined) return { status, body: body ?? '' };
    throw e;
  }
  throw new Error(`${url} was accepted`);
}

export function storeClient(runtime: LocalRuntime): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: runtime.dynamodbEndpoint,
    region: 'us-east-1',
    credentials: runtime.credentials,
  });
}

/** Polls until `check` returns a value other than undefined (or throws after `timeoutMs`). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A runtime on ephemeral ports with in-memory data, silent. */
export function startRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  return startLocalRuntime({ templatePath: FIXTURE_TEMPLATE, port: 0, dynamodbPort: 0, quiet: true, prewarm: false, ...options });
}

/** The event a fixture function kept for (connection, route), once it is there. */
export function keptEvent(db: DynamoDBClient, table: string, connectionId: string, routeKey: string): Promise<Record<string, unknown>> {
  return eventually(
    async () => {
      const { Item } = await db.send(new GetItemCommand({ TableName: table, Key: { id: { S: `${connectionId}/${routeKey}` } } }));
      return Item?.event?.S === undefined ? undefined : (JSON.parse(Item.event.S) as Record<string, unknown>);
    },
    10_000,
    `${routeKey} event of ${connectionId}`,
  );
}

/** Connects and learns the connection id through the fixture's echo route. */
export async function connectWithId(runtime: LocalRuntime, query = ''): Promise<{ client: Client; connectionId: string }> {
  const client = await connect(`${runtime.wsUrl}${query}`);
  client.send({ action: 'echo' });
  const { event } = await client.nextJson<{ event: { requestContext: { connectionId: string } } }>();
  return { client, connectionId: event.requestContext.connectionId };
}
