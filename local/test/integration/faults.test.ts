/**
 * Faults the runtime injects (local/src/faults/faults.ts), as the fixture functions' AWS SDK clients see
 * them: Management API posts answered 429 (transient, then for good), 410 (the connection really
 * dropped) or late, DynamoDB calls answered ProvisionedThroughputExceededException, invocations
 * that time out. Each is lifted with faults.set({}) and the next request is served.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import type { LocalRuntime } from '../../src/index';
import { connect, keptEvent, refusal, startRuntime, storeClient, type Client } from '../helpers';

describe('local runtime: injected faults, as the SDK sees them (fixture template)', function () {
  this.timeout(30_000);
  let runtime: LocalRuntime;
  const clients: Client[] = [];
  const open = async (): Promise<Client> => {
    const client = await connect(runtime.wsUrl);
    clients.push(client);
    return client;
  };
  const echoed = async (client: Client, n: number): Promise<Record<string, unknown>> => {
    client.send({ action: 'echo', n });
    return JSON.parse(await client.next()) as Record<string, unknown>;
  };

  before(async () => {
    runtime = await startRuntime();
  });
  beforeEach(() => {
    runtime.faults.set({});
    runtime.faults.resetStats();
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await runtime?.close();
  });

  it("a post throttled on its first attempt goes through on the SDK's retry: the client gets its echo", async () => {
    // Prepare
    const client = await open();
    runtime.faults.set({ seed: 1, post: { throttle: 1, attempts: 1 } });

    // Act
    const frame = await echoed(client, 1);

    // Assess
    expect(frame).to.have.nested.property('event.body', '{"action":"echo","n":1}');
    const { post } = runtime.faults.stats();
    expect(post).to.deep.include({ calls: 1, faultedCalls: 1, recovered: 1, injected: { throttle: 1 }, injectedBy: { EchoFunction: 1 } });
  });

  it("a post throttled past the SDK's retries fails the function: the client gets API Gateway's Internal server error; lifted, it is served", async () => {
    // Prepare
    const client = await open();
    runtime.faults.set({ seed: 1, post: { throttle: 1, attempts: 100 } });

    // Act
    const failed = await echoed(client, 2);
    runtime.faults.set({});
    const served = await echoed(client, 3);

    // Assess
    expect(failed).to.include({ message: 'Internal server error' });
    expect(runtime.faults.stats().post).to.deep.include({ faultedCalls: 1, recovered: 0 });
    expect(runtime.faults.stats().post.injected.throttle).to.be.greaterThan(1);
    expect(served).to.have.nested.property('event.body', '{"action":"echo","n":3}');
  });

  it('a post answered 410 drops the connection as a vanished client: 1006, then $disconnect runs', async () => {
    // Prepare
    const client = await open();
    const { requestContext } = (await echoed(client, 5)).event as { requestContext: { connectionId: string } };
    runtime.faults.set({ post: { gone: 1 } });

    // Act
    client.send({ action: 'echo', n: 6 });
    const closed = await client.closed;

    // Assess
    expect(closed.code).to.equal(1006);
    const db = storeClient(runtime);
    try {
      const kept = await keptEvent(db, runtime.tables.EventsTable as string, requestContext.connectionId, '$disconnect');
      expect(kept).to.have.nested.property('requestContext.routeKey', '$disconnect');
    } finally {
      db.destroy();
    }
  });

  it('posts answered late (latencyMs) arrive that much later', async () => {
    // Prepare
    const client = await open();
    runtime.faults.set({ post: { latencyMs: 400 } });

    // Act
    const sent = performance.now();
    await echoed(client, 7);
    const tookMs = performance.now() - sent;

    // Assess
    expect(tookMs).to.be.at.least(400);
  });

  it('DynamoDB calls answered ProvisionedThroughputExceededException past the retries fail $connect (502), and nothing is kept', async () => {
    // Prepare
    const db = storeClient(runtime);
    const connectsKept = async (): Promise<number> =>
      ((await db.send(new ScanCommand({ TableName: runtime.tables.EventsTable }))).Items ?? []).filter((item) =>
        item.id?.S?.endsWith('/$connect'),
      ).length;
    const keptBefore = await connectsKept();
    runtime.faults.set({ seed: 2, dynamodb: { throughput: 1, attempts: 100 } });

    // Act
    const refused = await refusal(runtime.wsUrl);
    runtime.faults.set({});
    const keptAfter = await connectsKept();
    const accepted = await open();
    db.destroy();

    // Assess
    expect(refused.status).to.equal(502);
    expect(keptAfter, 'a faulted call never reaches the store').to.equal(keptBefore);
    const { dynamodb } = runtime.faults.stats();
    expect(dynamodb.injectedBy).to.have.property('ConnectFunction').that.is.greaterThan(1);
    expect(dynamodb).to.deep.include({ recovered: 0 });
    expect((await echoed(accepted, 8)).event).to.be.an('object');
  });

  it('an invocation that times out is answered Internal server error; the next one runs in a new sandbox', async () => {
    // Prepare
    const client = await open();
    client.send({ action: 'twoway', n: 0 });
    await client.next();
    const coldStarts = runtime.stats().TwoWayFunction?.coldStarts ?? 0;
    runtime.faults.set({ timeout: { share: 1, functions: ['TwoWayFunction'] } });

    // Act
    client.send({ action: 'twoway', n: 1 });
    const timedOut = JSON.parse(await client.next()) as Record<string, unknown>;
    runtime.faults.set({});
    client.send({ action: 'twoway', n: 2 });
    const served = await client.next();

    // Assess
    expect(timedOut).to.include({ message: 'Internal server error' });
    expect(runtime.faults.stats().timeouts).to.deep.equal({ TwoWayFunction: 1 });
    expect(served).to.equal('pong: {"action":"twoway","n":2}');
    expect(runtime.stats().TwoWayFunction?.coldStarts, 'a new sandbox').to.equal(coldStarts + 1);
  });
});
