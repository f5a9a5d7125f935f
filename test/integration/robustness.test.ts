/**
 * The chat on the local runtime never goes down: not on a socket error (clients that reset their
 * TCP connection mid-frame or mid-request, on every port it serves), not on a store error (the
 * store unreachable or answering 500). (Handlers that crash are the runtime's own test:
 * local/test/integration/crashes.test.ts.) And `npm start` (tsx local/src/cli/start.ts) shuts down cleanly on
 * SIGTERM and SIGINT: connections closed with 1001, $disconnect run, the on-disk store flushed,
 * exit code 0 within a bound.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import { LOCAL_CREDENTIALS } from '../../local/src/iam/iam';
import type { LocalRuntime } from '../../local/src/index';
import { connect, PROJECT_TEMPLATE, refusal, startRuntime, type Client } from './helpers';
import { NpmStart } from './npm-start';

const SHUTDOWN_BOUND_MS = 8000;

interface Frame {
  type?: string;
  message?: string;
  text?: string;
  messages?: { text: string }[];
}
const parse = (text: string): Frame => {
  try {
    return JSON.parse(text) as Frame;
  } catch {
    return { text };
  }
};

/** The next frame that satisfies `match`. */
async function frame(client: Client, match: (f: Frame) => boolean, timeoutMs = 10_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const f = parse(await client.next(Math.max(1, deadline - Date.now())));
    if (match(f)) return f;
  }
}

/** Opens a TCP connection and writes `data`; resolves with the socket once written (and, with `until`, once that text arrives). */
function rawSocket(port: number, data: string | Buffer, until?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const socket = tcpConnect(port, '127.0.0.1', () => {
      socket.write(data);
      if (!until) resolve(socket);
    });
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      seen += chunk.toString('latin1');
      if (until && seen.includes(until)) resolve(socket);
    });
    setTimeout(() => reject(new Error(`no "${until}" from port ${port}`)), 5000).unref();
  });
}

/** A WebSocket upgrade, then a text frame that announces 1000 bytes and sends 10, then a TCP reset. */
async function resetMidFrame(port: number, path: string): Promise<void> {
  const socket = await rawSocket(
    port,
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    '101 Switching Protocols',
  );
  const header = Buffer.from([0x81, 0x80 | 126, 0x03, 0xe8, 1, 2, 3, 4]);
  socket.write(Buffer.concat([header, Buffer.from('{"action":')]));
  await new Promise((resolve) => setTimeout(resolve, 50));
  socket.resetAndDestroy();
}

/** An HTTP POST that announces a 1000-byte body, sends part of it, then a TCP reset. */
async function resetMidRequest(port: number, path: string, headers: string): Promise<void> {
  const socket = await rawSocket(
    port,
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${headers}Content-Length: 1000\r\n\r\n{"TableName":"`,
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  socket.resetAndDestroy();
}

describe('the runtime never crashes', function () {
  this.timeout(30_000);

  describe('on a store error and on sockets reset mid-request (template.yaml)', () => {
    let runtime: LocalRuntime;
    before(async () => {
      runtime = await startRuntime({ templatePath: PROJECT_TEMPLATE, limits: { ttlSweepMs: 100 } });
    });
    after(async () => runtime?.close());

    const say = async (client: Client, text: string): Promise<void> => {
      client.send({ action: 'sendmessage', message: text });
      await frame(client, (f) => f.type === 'message' && f.text === text);
    };

    it('serves again once the store is back from being unreachable or failing', async () => {
      const url = `${runtime.wsUrl}?room=store-${process.pid}`;
      const alice = await connect(url, { protocols: ['chat.v1'] } as never);
      try {
        await say(alice, 'before');
        runtime.faults.set({ dynamodb: { down: true } });
        const refused = await refusal(url);
        expect(refused.status, '$connect fails: the upgrade is refused with 502').to.equal(502);
        alice.send({ action: 'sendmessage', message: 'while down' });
        expect(await frame(alice, () => true, 20_000)).to.include({ message: 'Internal server error' });
        await new Promise((resolve) => setTimeout(resolve, 300)); // TTL sweeps fail meanwhile
        const down = runtime.faults.stats().storeDownRequests;

        runtime.faults.set({ dynamodb: { error: 1, attempts: 100 } });
        alice.send({ action: 'sendmessage', message: 'while failing' });
        expect(await frame(alice, () => true, 20_000)).to.include({ message: 'Internal server error' });

        runtime.faults.set({});
        await say(alice, 'after');
        const bob = await connect(url, { protocols: ['chat.v1'] } as never);
        await say(alice, 'bob hears this');
        await frame(bob, (f) => f.type === 'message' && f.text === 'bob hears this');
        await bob.close();
        console.log(
          `      store down: ${down} requests reset, a connect refused 502 and a message answered Internal server error; ` +
            "store failing: Internal server error after the SDK's retries; then served again",
        );
      } finally {
        await alice.close();
      }
    });

    it('survives clients that reset mid-frame and mid-request on the WebSocket, @connections, SQS and DynamoDB ports', async () => {
      const port = Number(new URL(runtime.httpUrl).port);
      const storePort = Number(new URL(runtime.dynamodbEndpoint).port);
      for (let i = 0; i < 3; i += 1) {
        await resetMidFrame(port, `/${runtime.stage}`);
        await resetMidRequest(port, `/${runtime.stage}/@connections/abcdefghijklmno%3D`, 'Content-Type: application/json\r\n');
        await resetMidRequest(
          port,
          '/123456789012/FanoutQueue',
          'Content-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AmazonSQS.SendMessage\r\n',
        );
        await resetMidRequest(
          storePort,
          '/',
          'Content-Type: application/x-amz-json-1.0\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\n' +
            'Authorization: AWS4-HMAC-SHA256 Credential=LOCALSendMessageFunction/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x\r\n',
        );
        await resetMidRequest(storePort, '/', 'Content-Type: application/x-amz-json-1.0\r\nX-Amz-Target: DynamoDB_20120810.Scan\r\n');
      }
      const client = await connect(`${runtime.wsUrl}?room=resets-${process.pid}`, { protocols: ['chat.v1'] } as never);
      try {
        await say(client, 'still here');
      } finally {
        await client.close();
      }
    });
  });
});

describe('npm start shuts down cleanly (tsx local/src/cli/start.ts as a child)', function () {
  this.timeout(60_000);
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-shutdown-'));
  const room = `shutdown-${process.pid}`;
  const children: NpmStart[] = [];
  after(() => {
    children.forEach((c) => c.kill());
    rmSync(dataDir, { recursive: true, force: true });
  });

  const start = (env: Record<string, string> = {}): NpmStart => {
    const child = new NpmStart(dataDir, env);
    children.push(child);
    return child;
  };

  const stopWith = async (server: NpmStart, signal: NodeJS.Signals, clients: Client[]): Promise<{ ms: number; codes: number[] }> => {
    const sent = performance.now();
    server.child.kill(signal);
    const exit = await Promise.race([
      server.exited,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`no exit within ${SHUTDOWN_BOUND_MS} ms of ${signal}`)), SHUTDOWN_BOUND_MS),
      ),
    ]);
    expect(exit, `exit on ${signal} (stderr: ${server.err})`).to.include({ code: 0 });
    const codes = await Promise.all(clients.map(async (c) => (await c.closed).code));
    return { ms: Math.round(exit.at - sent), codes };
  };

  const sayOn = async (client: Client, text: string): Promise<void> => {
    client.send({ action: 'sendmessage', message: text });
    await frame(client, (f) => f.type === 'message' && f.text === text);
  };

  it('on SIGTERM and SIGINT: closes connections with 1001, runs $disconnect, flushes the store, exits 0', async () => {
    // Throttled posts too (LOCAL_FAULTS): the SDK retries them, and the shutdown is as clean.
    const first = start({ LOCAL_FAULTS: 'post429=20%,seed=3' });
    const a = await first.ready();
    expect(first.out)
      .to.match(/IAM\s+enforced/)
      .and.match(/Faults\s+20% posts 429/);
    // Sockets reset mid-frame and mid-request first: the process must survive them.
    await resetMidFrame(a.port, new URL(a.wsUrl).pathname);
    await resetMidRequest(
      Number(new URL(a.dynamodb).port),
      '/',
      'Content-Type: application/x-amz-json-1.0\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\n',
    );
    const url = `${a.wsUrl}?room=${room}`;
    const alice = await connect(url, { protocols: ['chat.v1'] } as never);
    const bob = await connect(url, { protocols: ['chat.v1'] } as never);
    await sayOn(alice, 'written just before SIGTERM');
    const term = await stopWith(first, 'SIGTERM', [alice, bob]);
    expect(term.codes, 'clients closed with 1001 Going away').to.deep.equal([1001, 1001]);

    const second = start();
    const b = await second.ready();
    const db = new DynamoDBClient({ endpoint: b.dynamodb, region: 'us-east-1', credentials: { ...LOCAL_CREDENTIALS } });
    try {
      const { Items } = await db.send(new ScanCommand({ TableName: 'ConnectionsTable' }));
      // Connections only: a room's pending presence item (key presence#<room>, no room attribute) may stay.
      const connections = (Items ?? []).filter((item) => item.room !== undefined);
      expect(connections, '$disconnect removed every connection before the exit').to.deep.equal([]);
    } finally {
      db.destroy();
    }
    const reader = await connect(`${b.wsUrl}?room=${room}`, { protocols: ['chat.v1'] } as never);
    reader.send({ action: 'history', limit: 10 });
    const history = await frame(reader, (f) => f.type === 'history');
    expect(
      history.messages?.map((m) => m.text),
      'the store was flushed to disk',
    ).to.deep.equal(['written just before SIGTERM']);
    const int = await stopWith(second, 'SIGINT', [reader]);
    expect(int.codes).to.deep.equal([1001]);
    console.log(
      `      shutdown: SIGTERM → exit 0 in ${term.ms} ms (2 clients closed 1001, $disconnect ran, store flushed); SIGINT → exit 0 in ${int.ms} ms`,
    );
  });
});
