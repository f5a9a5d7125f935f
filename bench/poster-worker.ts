/**
 * A worker thread that plays a Lambda sandbox for the benchmark's reference posters, so that
 * they run off the main thread as the functions do in the local runtime (bundled by
 * poster.ts; run by nothing else). Jobs:
 * - `posts`: the SDK floor, PostToConnectionCommand to each id through one reused client
 *   (keep-alive, at most `concurrency` in flight);
 * - `tutorial`: the baseline algorithm (baseline.ts);
 * - `layer`: the project's own broadcast() from a built chat-core layer, over a room.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type TutorialMessage, tutorialSendMessage } from './baseline';

export interface PosterOptions {
  /** Load the X-Ray SDK (as Powertools Tracer does) before anything else. */
  xray?: boolean;
  /** A built chat-core layer (…/nodejs/node_modules/chat-core) to load for `layer` jobs. */
  layer?: string;
}

export type PosterJob =
  | { kind: 'posts'; endpoint: string; ids: string[]; data: string; concurrency: number }
  | { kind: 'tutorial'; dynamodbEndpoint: string; message: TutorialMessage }
  | { kind: 'layer'; room: string; text: string };

export interface PosterReply {
  ms: number;
  delivered: number;
  failed: number;
  scanned?: number;
  error?: string;
}

interface Layer {
  broadcast(recipients: AsyncIterable<unknown[]>, frame: unknown): Promise<{ delivered: number; failed: number; gone: number }>;
  roomConnections(room: string): AsyncIterable<unknown[]>;
}

const options = workerData as PosterOptions;
// eslint-disable-next-line @typescript-eslint/no-require-imports
if (options.xray) new (require('@aws-lambda-powertools/tracer') as typeof import('@aws-lambda-powertools/tracer')).Tracer();
// eslint-disable-next-line @typescript-eslint/no-require-imports
const layer = options.layer ? (require(options.layer) as Layer) : undefined;

const clients = new Map<string, ApiGatewayManagementApiClient>();
function managementClient(endpoint: string, concurrency: number): ApiGatewayManagementApiClient {
  let client = clients.get(endpoint);
  if (!client) {
    client = new ApiGatewayManagementApiClient({
      endpoint,
      requestHandler: { httpAgent: { keepAlive: true, maxSockets: concurrency } },
    });
    clients.set(endpoint, client);
  }
  return client;
}

async function posts(job: Extract<PosterJob, { kind: 'posts' }>): Promise<Omit<PosterReply, 'ms'>> {
  const client = managementClient(job.endpoint, job.concurrency);
  const data = Buffer.from(job.data, 'utf8');
  let next = 0;
  let delivered = 0;
  let failed = 0;
  const lane = async (): Promise<void> => {
    while (next < job.ids.length) {
      const id = job.ids[next++] as string;
      try {
        await client.send(new PostToConnectionCommand({ ConnectionId: id, Data: data }));
        delivered += 1;
      } catch {
        failed += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(job.concurrency, job.ids.length) }, lane));
  return { delivered, failed };
}

const dynamodbClients = new Map<string, DynamoDBClient>();
async function tutorial(job: Extract<PosterJob, { kind: 'tutorial' }>): Promise<Omit<PosterReply, 'ms'>> {
  let ddb = dynamodbClients.get(job.dynamodbEndpoint);
  if (!ddb) {
    ddb = new DynamoDBClient({ endpoint: job.dynamodbEndpoint });
    dynamodbClients.set(job.dynamodbEndpoint, ddb);
  }
  const result = await tutorialSendMessage(ddb, job.message);
  return { delivered: result.posted, failed: result.failed, scanned: result.scanned };
}

async function broadcastRoom(job: Extract<PosterJob, { kind: 'layer' }>): Promise<Omit<PosterReply, 'ms'>> {
  if (!layer) throw new Error('no layer loaded');
  const frame = { type: 'message', id: '01BENCH0000000000000000000', room: job.room, name: 'bench', text: job.text, sentAt: new Date().toISOString() };
  const result = await layer.broadcast(layer.roomConnections(job.room), frame);
  return { delivered: result.delivered, failed: result.failed + result.gone };
}

parentPort?.on('message', (job: PosterJob) => {
  const started = performance.now();
  const work = job.kind === 'posts' ? posts(job) : job.kind === 'tutorial' ? tutorial(job) : broadcastRoom(job);
  work.then(
    (result) => parentPort?.postMessage({ ms: performance.now() - started, ...result } satisfies PosterReply),
    (error: unknown) =>
      parentPort?.postMessage({ ms: performance.now() - started, delivered: 0, failed: 0, error: String(error) } satisfies PosterReply),
  );
});
