/**
 * DynamoDB read and write accounting: an HTTP proxy in front of the local store that adds
 * `ReturnConsumedCapacity: 'TOTAL'` to every request and adds up the ConsumedCapacity of the
 * answers, per operation. dynalite computes it the DynamoDB way (item sizes summed per
 * request, 4 KB read units, halved for eventually consistent reads, index reads included), so
 * what the functions really ask for is what gets counted. Point functions at it with
 * AWS_ENDPOINT_URL_DYNAMODB; the SDK does not mind the extra field in the answers. What it
 * changes it signs again with the caller's credentials (the store verifies every signature;
 * the local secrets derive from the access key id, local/src/iam/iam.ts).
 */
import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOCAL_CREDENTIALS, accessKeyIdOf, localSigner, secretForAccessKey } from 'sam-websocket-local';

export interface OperationTally {
  calls: number;
  readUnits: number;
  writeUnits: number;
  /** Items read (Count, or ScannedCount for Scan/Query when larger). */
  items: number;
}

export interface CapacityProxy {
  endpoint: string;
  /** Where requests go (the store's endpoint); settable once the store is up. */
  target: string;
  /** A snapshot of the tally since the last reset, per operation (GetItem, Query, …). */
  tally(): Record<string, OperationTally>;
  reset(): void;
  close(): Promise<void>;
}

const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);
const WITH_CAPACITY = new Set([...READS, 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

type Consumed = { CapacityUnits?: number } | { CapacityUnits?: number }[] | undefined;

function unitsOf(consumed: Consumed): number {
  const list = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
  return list.reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
}

export function totals(tally: Record<string, OperationTally>): OperationTally {
  const sum: OperationTally = { calls: 0, readUnits: 0, writeUnits: 0, items: 0 };
  for (const t of Object.values(tally)) {
    sum.calls += t.calls;
    sum.readUnits += t.readUnits;
    sum.writeUnits += t.writeUnits;
    sum.items += t.items;
  }
  return sum;
}

/** The headers of `req` for `upstream`, with `payload`, signed again with the caller's local credentials. */
async function resigned(req: IncomingMessage, upstream: URL, payload: Buffer): Promise<Record<string, string>> {
  const headers: Record<string, string> = {};
  const skip = new Set(['authorization', 'x-amz-date', 'x-amz-content-sha256', 'connection', 'host', 'content-length']);
  for (const [name, value] of Object.entries(req.headers as IncomingHttpHeaders)) {
    if (value !== undefined && !skip.has(name)) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  headers.host = upstream.host;
  headers['content-length'] = String(payload.length);
  const accessKeyId = accessKeyIdOf(req.headers.authorization);
  if (!accessKeyId) return headers; // unsigned: the store refuses it, as it would without the proxy
  const region = /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? 'us-east-1';
  const secretAccessKey =
    accessKeyId === LOCAL_CREDENTIALS.accessKeyId ? LOCAL_CREDENTIALS.secretAccessKey : secretForAccessKey(accessKeyId);
  const signed = await localSigner({ accessKeyId, secretAccessKey }, 'dynamodb', region).sign({
    method: req.method ?? 'POST',
    protocol: 'http:',
    hostname: upstream.hostname,
    port: Number(upstream.port),
    path: req.url ?? '/',
    query: {},
    headers,
    body: payload,
  });
  return Object.fromEntries(Object.entries(signed.headers).map(([name, value]) => [name, String(value)]));
}

export async function startCapacityProxy(target = 'http://127.0.0.1:1'): Promise<CapacityProxy> {
  let upstream = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let counts: Record<string, OperationTally> = {};

  const account = (operation: string, body: Buffer): void => {
    const entry = (counts[operation] ??= { calls: 0, readUnits: 0, writeUnits: 0, items: 0 });
    entry.calls += 1;
    try {
      const answer = JSON.parse(body.toString('utf8')) as {
        ConsumedCapacity?: Consumed;
        Count?: number;
        ScannedCount?: number;
        Item?: unknown;
      };
      const units = unitsOf(answer.ConsumedCapacity);
      if (READS.has(operation)) entry.readUnits += units;
      else entry.writeUnits += units;
      entry.items += Math.max(answer.ScannedCount ?? 0, answer.Count ?? 0, answer.Item ? 1 : 0);
    } catch {
      // Not JSON (an error page): counted as a call only.
    }
  };

  const forward = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const operation =
      String(req.headers['x-amz-target'] ?? '')
        .split('.')
        .pop() ?? '';
    let payload = body;
    if (WITH_CAPACITY.has(operation)) {
      const input = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
      payload = Buffer.from(JSON.stringify({ ...input, ReturnConsumedCapacity: 'TOTAL' }), 'utf8');
    }
    const headers = await resigned(req, upstream, payload);
    const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        const text = Buffer.concat(chunks);
        if (operation && (answer.statusCode ?? 500) < 300) account(operation, text);
        res.writeHead(answer.statusCode ?? 500, answer.headers).end(text);
      });
    });
    out.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
    });
    out.end(payload);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      forward(req, res, Buffer.concat(chunks)).catch(() => {
        if (!res.headersSent) res.writeHead(502).end();
      });
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    get target() {
      return upstream.origin;
    },
    set target(url: string) {
      upstream = new URL(url);
    },
    tally: () => structuredClone(counts),
    reset: () => {
      counts = {};
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
