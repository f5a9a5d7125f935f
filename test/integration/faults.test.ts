/**
 * Faults injected through the local runtime (local/src/faults/faults.ts) into the real handlers of
 * template.yaml: throttled and failing Management API posts and DynamoDB calls are retried by
 * the SDK with backoff and nothing valid is lost; posts answered 410 end with the stale
 * connections removed; a handler timeout answers the client as API Gateway does and the runtime
 * keeps serving; a runtime restarted on its on-disk store still has every message.
 * Each test prints its figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand, PutItemCommand, QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import type { FaultKindStats, LocalRuntime } from '../../local/src/index';
import { connect, eventually, PROJECT_TEMPLATE, startRuntime, storeClient, type Client } from './helpers';

interface Frame {
  type?: string;
  message?: string;
  id?: string;
  text?: string;
  name?: string;
  [key: string]: unknown;
}

const runId = `${process.pid.toString(36)}-${Date.now().toString(36)}`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A client's frames, parsed, in arrival order. */
function frames(client: Client): Frame[] {
  return client.messages.map((text) => {
    try {
      return JSON.parse(text) as Frame;
    } catch {
      return { type: 'text', text };
    }
  });
}

const messagesOf = (client: Client): Frame[] => frames(client).filter((f) => f.type === 'message');
const gatewayErrors = (client: Client): Frame[] => frames(client).filter((f) => f.type === undefined && typeof f.message === 'string');

/** Waits for `client` to hold a message frame whose text is `text`. */
async function received(client: Client, text: string, timeoutMs = 15_000): Promise<Frame> {
  return eventually(async () => messagesOf(client).find((f) => f.text === text), timeoutMs, `message ${JSON.stringify(text)}`);
}

async function storedTexts(db: DynamoDBClient, table: string, room: string): Promise<{ id: string; text: string }[]> {
  const out: { id: string; text: string }[] = [];
  let start: Record<string, never> | undefined;
  do {
    const page = await db.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'room = :r',
        ExpressionAttributeValues: { ':r': { S: room } },
        ExclusiveStartKey: start,
      }),
    );
    out.push(...(page.Items ?? []).map((i) => ({ id: i.id?.S ?? '', text: i.text?.S ?? '' })));
    start = page.LastEvaluatedKey as typeof start;
  } while (start);
  return out;
}

const pct = (n: number, of: number): string => `${of === 0 ? 0 : Math.round((n / of) * 1000) / 10}%`;
const delays = (s: FaultKindStats): string =>
  s.retryDelayMs ? `retried after ${s.retryDelayMs.min}–${s.retryDelayMs.max} ms (median ${s.retryDelayMs.median})` : 'no retry seen';

describe('faults injected through the local runtime (template.yaml, real handlers)', function () {
  this.timeout(60_000);
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-faults-'));
  let runtime: LocalRuntime;
  let db: DynamoDBClient;
  let clients: Client[] = [];
  const throttledRoom = `faults-${runId}`;
  const sentInThrottledRoom: string[] = [];

  const join_ = async (room: string, name: string, v1 = true): Promise<Client> => {
    const client = await connect(`${runtime.wsUrl}?room=${room}&name=${name}`, (v1 ? { protocols: ['chat.v1'] } : {}) as never);
    clients.push(client);
    return client;
  };

  before(async () => {
    runtime = await startRuntime({ templatePath: PROJECT_TEMPLATE, dataDir, prewarm: true });
    db = storeClient(runtime);
  });

  afterEach(async () => {
    runtime.faults.set({});
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
  });

  after(async () => {
    db?.destroy();
    await runtime?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("retries throttled and failing posts and DynamoDB calls with backoff: every message stored and delivered once, each sender's order kept by id", async () => {
    const members = 10;
    const perSender = 5;
    runtime.faults.resetStats();
    runtime.faults.set({
      seed: 11,
      post: { throttle: 0.1, error: 0.05 },
      dynamodb: { throughput: 0.05, throttling: 0.05, error: 0.05 },
    });
    const room = throttledRoom;
    const people: Client[] = [];
    for (let i = 0; i < members; i += 1) people.push(await join_(room, `p${i}`));

    // Every member sends, one message after the other (each waits for its confirmation), all at once.
    await Promise.all(
      people.map(async (client, i) => {
        for (let n = 0; n < perSender; n += 1) {
          const text = `p${i} #${n}`;
          sentInThrottledRoom.push(text);
          client.send({ action: 'sendmessage', message: text });
          await received(client, text);
        }
      }),
    );
    const expected = new Set(sentInThrottledRoom);
    for (const client of people)
      await eventually(async () => (messagesOf(client).length >= expected.size ? true : undefined), 15_000, 'every message');
    await sleep(300); // a duplicate would show up now

    const stats = runtime.faults.stats();
    const stored = await storedTexts(db, runtime.tables.MessagesTable as string, room);
    const deliveries = people.map((c) => messagesOf(c).map((f) => String(f.text)));
    const lost =
      [...expected].filter((t) => !stored.some((s) => s.text === t)).length +
      deliveries.reduce((sum, got) => sum + [...expected].filter((t) => !got.includes(t)).length, 0);
    const duplicated =
      deliveries.reduce((sum, got) => sum + got.length - new Set(got).size, 0) + stored.length - new Set(stored.map((s) => s.text)).size;
    const { post, dynamodb } = stats;
    console.log(
      `      faults: ${post.calls} posts, ${pct(post.injected.throttle ?? 0, post.calls)} 429 + ${pct(post.injected.error ?? 0, post.calls)} 500` +
        ` → ${post.faultedCalls} faulted, ${post.recovered} recovered, ${delays(post)}`,
    );
    console.log(
      `      faults: ${dynamodb.calls} DynamoDB calls, ${pct(dynamodb.injected.throughput ?? 0, dynamodb.calls)} ProvisionedThroughputExceeded + ` +
        `${pct(dynamodb.injected.throttling ?? 0, dynamodb.calls)} Throttling + ${pct(dynamodb.injected.error ?? 0, dynamodb.calls)} 500` +
        ` → ${dynamodb.faultedCalls} faulted, ${dynamodb.recovered} recovered, ${delays(dynamodb)}`,
    );
    const outOfOrder = deliveries.reduce(
      (n, got) =>
        n +
        people.reduce((m, _c, s) => {
          const fromSender = got.filter((t) => t.startsWith(`p${s} #`));
          return m + fromSender.filter((t, k) => t !== `p${s} #${k}`).length;
        }, 0),
      0,
    );
    console.log(
      `      faults: ${expected.size} messages × ${members} recipients → ${lost} lost, ${duplicated} duplicated, ` +
        `${people.reduce((n, c) => n + gatewayErrors(c).length, 0)} "Internal server error", ${outOfOrder} arrived out of send order (ids keep the order)`,
    );

    expect(post.injected.throttle, 'posts answered 429').to.be.greaterThan(0);
    expect(post.injected.error, 'posts answered 500').to.be.greaterThan(0);
    expect(dynamodb.injected.throughput, 'DynamoDB ProvisionedThroughputExceeded').to.be.greaterThan(0);
    expect(dynamodb.injected.throttling, 'DynamoDB Throttling').to.be.greaterThan(0);
    expect(dynamodb.injected.error, 'DynamoDB 500').to.be.greaterThan(0);
    expect(post.recovered, 'every faulted post went through on a retry').to.equal(post.faultedCalls);
    expect(dynamodb.recovered, 'every faulted DynamoDB call went through on a retry').to.equal(dynamodb.faultedCalls);
    expect(post.retryDelayMs?.max ?? 0, 'the SDK backs off before retrying').to.be.greaterThan(0);
    expect(people.flatMap(gatewayErrors), 'no "Internal server error"').to.deep.equal([]);
    expect(stored.map((s) => s.text).sort(), 'every message stored, once').to.deep.equal([...expected].sort());
    for (const [i, got] of deliveries.entries()) {
      expect([...got].sort(), `p${i} received every message, once`).to.deep.equal([...expected].sort());
    }
    // A retried post arrives after the posts that did not need one: arrival order is not send
    // order under throttling, but message ids (ULIDs) are, so a client can put them back in order.
    for (let s = 0; s < members; s += 1) {
      const byId = stored
        .filter((m) => m.text.startsWith(`p${s} #`))
        .sort((a, b) => (a.id < b.id ? -1 : 1))
        .map((m) => m.text);
      expect(byId, `p${s}'s messages sorted by id are in the order sent`).to.deep.equal(byId.map((_t, n) => `p${s} #${n}`));
    }
  });

  it('drops a connection whose post is answered 410, removes it and the stale ones, and delivers to every live one', async () => {
    const room = `gone-${runId}`;
    const now = Date.now();
    const stale = ['staleAAAAAAAAAA=', 'staleBBBBBBBBBB=', 'staleCCCCCCCCCC='];
    const people: Client[] = [];
    for (let i = 0; i < 10; i += 1) people.push(await join_(room, `g${i}`));
    // Connections whose $disconnect was lost, past the 30 s connect grace: they answer 410 for real.
    for (const id of stale) {
      await db.send(
        new PutItemCommand({
          TableName: runtime.tables.ConnectionsTable,
          Item: {
            connectionId: { S: id },
            room: { S: room },
            name: { S: 'ghost' },
            protocol: { S: 'chat.v1' },
            connectedAt: { N: String(now - 120_000) },
            expiresAt: { N: String(Math.floor(now / 1000) + 3600) },
            rateAt: { N: '0' },
          },
        }),
      );
    }
    runtime.faults.resetStats();
    runtime.faults.set({ seed: 5, post: { gone: 0.02 } });
    const confirmed: string[] = [];
    await Promise.all(
      people.map(async (client, i) => {
        for (let n = 0; n < 3 && client.ws.readyState === client.ws.OPEN; n += 1) {
          const text = `g${i} #${n}`;
          client.send({ action: 'sendmessage', message: text });
          const outcome = await Promise.race([received(client, text).then(() => 'confirmed'), client.closed.then(() => 'dropped')]);
          if (outcome === 'confirmed') confirmed.push(text);
        }
      }),
    );
    runtime.faults.set({});
    // A post decided just before the faults were cleared may still be dropping its connection.
    await eventually(
      async () =>
        people.filter((c) => c.ws.readyState !== c.ws.OPEN).length === (runtime.faults.stats().post.injected.gone ?? 0) ? true : undefined,
      10_000,
      'every connection answered 410 seen closed',
    );
    const dropped = people.filter((c) => c.ws.readyState !== c.ws.OPEN);
    const live = people.filter((c) => c.ws.readyState === c.ws.OPEN);
    const isGone = async (id: string): Promise<true | undefined> => {
      const { Item } = await db.send(new GetItemCommand({ TableName: runtime.tables.ConnectionsTable, Key: { connectionId: { S: id } } }));
      return Item === undefined ? true : undefined;
    };
    for (const id of stale) await eventually(() => isGone(id), 10_000, `stale ${id} removed`);
    // The room keeps exactly its live connections: the dropped ones were removed ($disconnect ran for them).
    const registered = await eventually(
      async () => {
        const { Items } = await db.send(
          new QueryCommand({
            TableName: runtime.tables.ConnectionsTable,
            IndexName: 'byRoom',
            KeyConditionExpression: 'room = :r',
            ExpressionAttributeValues: { ':r': { S: room } },
          }),
        );
        return (Items ?? []).length === live.length ? (Items ?? []).length : undefined;
      },
      10_000,
      'the room holds its live connections only',
    );
    const stored = await storedTexts(db, runtime.tables.MessagesTable as string, room);
    const storedTextsSorted = stored.map((s) => s.text).sort();
    for (const client of live) {
      await eventually(
        async () => (messagesOf(client).length >= stored.length ? true : undefined),
        15_000,
        'every stored message, live connection',
      );
    }
    await sleep(300);
    const droppedCodes = await Promise.all(dropped.map(async (c) => (await c.closed).code));
    const stats = runtime.faults.stats();
    const liveMissing = live.reduce((n, c) => n + stored.filter((s) => !messagesOf(c).some((f) => f.text === s.text)).length, 0);
    const duplicates = live.reduce((n, c) => n + messagesOf(c).length - new Set(messagesOf(c).map((f) => f.text)).size, 0);
    console.log(
      `      faults: ${stats.post.calls} posts, ${pct(stats.post.injected.gone ?? 0, stats.post.calls)} 410 → ${dropped.length} connections dropped ` +
        `(closed ${[...new Set(droppedCodes)].join(', ') || '-'}) and unregistered, ${stale.length}/${stale.length} stale connections removed; ` +
        `${stored.length} messages stored (${confirmed.length} confirmed): ${liveMissing} lost and ${duplicates} duplicated on ${live.length} live connections`,
    );

    expect(stats.post.injected.gone, 'posts answered 410').to.be.greaterThan(0);
    expect(dropped.length, 'each 410 fault dropped its connection').to.equal(stats.post.injected.gone);
    expect(
      droppedCodes.every((code) => code === 1006),
      'dropped: closed abnormally (1006)',
    ).to.equal(true);
    expect(registered).to.equal(live.length);
    expect(storedTextsSorted, 'each message stored once').to.deep.equal([...new Set(storedTextsSorted)]);
    expect(
      confirmed.filter((t) => !storedTextsSorted.includes(t)),
      'confirmed but not stored',
    ).to.deep.equal([]);
    expect(liveMissing, 'messages lost on live connections').to.equal(0);
    expect(duplicates, 'duplicates on live connections').to.equal(0);
  });

  it('answers a handler timeout as API Gateway does (Internal server error) and keeps serving', async () => {
    const room = `timeout-${runId}`;
    const alice = await join_(room, 'alice');
    const bob = await join_(room, 'bob');
    runtime.faults.resetStats();
    const before = runtime.stats().SendMessageFunction?.errors ?? 0;
    runtime.faults.set({ timeout: { share: 1, functions: ['SendMessageFunction'] } });
    alice.send({ action: 'sendmessage', message: 'this one times out' });
    const error = await eventually(async () => gatewayErrors(alice)[0], 10_000, 'the gateway error frame');
    expect(error).to.include({ message: 'Internal server error' });
    expect(error).to.have.property('connectionId').that.is.a('string');
    expect(runtime.faults.stats().timeouts).to.deep.equal({ SendMessageFunction: 1 });
    expect((runtime.stats().SendMessageFunction?.errors ?? 0) - before, 'the invocation failed').to.equal(1);

    runtime.faults.set({});
    alice.send({ action: 'sendmessage', message: 'and this one goes through' });
    await received(alice, 'and this one goes through');
    await received(bob, 'and this one goes through');
    console.log(
      `      faults: 1 sendmessage timed out → "Internal server error" to the sender; the next message delivered to ${2} clients`,
    );
  });

  it('still has every message after a restart on the on-disk store (history)', async () => {
    expect(sentInThrottledRoom, 'the first test stored messages').to.have.length.greaterThan(0);
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    db.destroy();
    await runtime.close();
    const restartedAt = performance.now();
    runtime = await startRuntime({ templatePath: PROJECT_TEMPLATE, dataDir, prewarm: false });
    db = storeClient(runtime);
    const reader = await join_(throttledRoom, 'reader');
    reader.send({ action: 'history', limit: 100 });
    const page = await eventually(async () => frames(reader).find((f) => f.type === 'history'), 10_000, 'history after the restart');
    const texts = (page.messages as { text: string }[]).map((m) => m.text);
    console.log(
      `      restart on ${'dataDir'}: ${Math.round(performance.now() - restartedAt)} ms to serve again, history returns ${texts.length}/${sentInThrottledRoom.length} messages`,
    );
    expect([...texts].sort()).to.deep.equal([...sentInThrottledRoom].sort());
  });
});
