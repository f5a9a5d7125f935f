/**
 * A worker thread that plays a Lambda sandbox for the benchmark's reference posters, so that
 * they run off the main thread as the functions do in the local runtime (bundled by
 * poster.ts; run by nothing else). Jobs:
 * - `posts`: the SDK floor, PostToConnectionCommand to each id through one reused client
 *   (keep-alive, at most `concurrency` in flight);
 * - `tutorial`: the baseline algorithm (baseline.ts);
 * - `layer`: the project's own broadcast() from a built chat-core layer, over a room;
 * - `heap`: this worker's V8 heap in use after a full GC (memory.ts);
 * - `layerHeap`: a `layer` job that also samples this worker's heap during the broadcast (memory.ts).
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { benchFrame } from '../harness/frame';
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
  | { kind: 'layer'; room: string; text: string }
  | { kind: 'heap' }
  /** `collect`: a full GC before each sample, so that samples are the live heap rather than live plus garbage. */
  | { kind: 'layerHeap'; room: string; text: string; intervalMs: number; collect: boolean };

/** This worker's V8 heap in use (used_heap_size), in bytes. */
export interface HeapReading {
  /** After a full GC, before the work. */
  before: number;
  /** The largest sample during the work (every `intervalMs`, after each page of the room query, and at its end). */
  peak: number;
  /** The largest sample taken right after a page of the room query arrived. */
  afterQuery: number;
  samples: number;
}

export interface PosterReply {
  ms: number;
  delivered: number;
  failed: number;
  scanned?: number;
  heap?: HeapReading;
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
  const result = await layer.broadcast(layer.roomConnections(job.room), benchFrame(job.room, job.text));
  return { delivered: result.delivered, failed: result.failed + result.gone };
}

let gc: (() => void) | undefined;
/** A full GC of this worker's heap (V8's gc(), exposed to a fresh context), then the heap in use. */
function heapAfterGc(): number {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  return getHeapStatistics().used_heap_size;
}

/**
 * broadcastRoom() with the heap sampled from a GC'd start: on a timer, after each page of the
 * room query (while the page is held) and at the end. A timer on this thread runs between the
 * broadcast's I/O callbacks, so a short peak between two samples can be missed.
 */
async function broadcastRoomSampled(job: Extract<PosterJob, { kind: 'layerHeap' }>): Promise<Omit<PosterReply, 'ms'>> {
  if (!layer) throw new Error('no layer loaded');
  const before = heapAfterGc();
  const heap: HeapReading = { before, peak: before, afterQuery: before, samples: 0 };
  const sample = (): number => {
    const used = job.collect ? heapAfterGc() : getHeapStatistics().used_heap_size;
    heap.samples += 1;
    heap.peak = Math.max(heap.peak, used);
    return used;
  };
  async function* sampled(pages: AsyncIterable<unknown[]>): AsyncGenerator<unknown[]> {
    for await (const page of pages) {
      heap.afterQuery = Math.max(heap.afterQuery, sample());
      yield page;
    }
  }
  const timer = setInterval(sample, job.intervalMs);
  try {
    const result = await layer.broadcast(sampled(layer.roomConnections(job.room)), benchFrame(job.room, job.text));
    sample();
    return { delivered: result.delivered, failed: result.failed + result.gone, heap };
  } finally {
    clearInterval(timer);
  }
}

async function run(job: PosterJob): Promise<Omit<PosterReply, 'ms'>> {
  switch (job.kind) {
    case 'posts':
      return posts(job);
    case 'tutorial':
      return tutorial(job);
    case 'layer':
      return broadcastRoom(job);
    case 'layerHeap':
      return broadcastRoomSampled(job);
    case 'heap': {
      const before = heapAfterGc();
      return { delivered: 0, failed: 0, heap: { before, peak: before, afterQuery: before, samples: 0 } };
    }
  }
}

parentPort?.on('message', (job: PosterJob) => {
  const started = performance.now();
  const work = run(job);
  work.then(
    (result) => parentPort?.postMessage({ ms: performance.now() - started, ...result } satisfies PosterReply),
    (error: unknown) =>
      parentPort?.postMessage({ ms: performance.now() - started, delivered: 0, failed: 0, error: String(error) } satisfies PosterReply),
  );
});
