/**
 * Any SAM WebSocket app, unmodified: the apps of local/fixtures/ are written the
 * way public SAM WebSocket apps are (plain JavaScript with no build step, ES modules or CommonJS,
 * the AWS SDK v3 the Lambda runtime provides, SDK clients built with a region or nothing, the
 * Management API endpoint built from the event, SAM policy templates, tables with explicit names
 * and provisioned throughput, the template's own stage), not for this runtime. Each one runs
 * behind the local runtime from its own template.yaml, driven by real `ws` clients, and what a
 * user would see is asserted; then that no function failed, that IAM was enforced on every
 * function from its policies (policy templates included) and that nothing was denied.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import { startLocalRuntime, type LocalRuntime } from '../../src/index';
import { connect, eventually, refusal, storeClient, type Client } from '../helpers';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures');

/** A connection id API Gateway never handed out (or no longer knows): a row its $disconnect did not remove. */
const STALE_ID = 'staleConnXXXXX0=';

interface App {
  runtime: LocalRuntime;
  db: DynamoDBClient;
  table: string;
  /** Connects a client that the hooks close after the test. */
  join(query?: string): Promise<Client>;
  rows(): Promise<Record<string, AttributeValue>[]>;
}

/**
 * Starts the runtime for local/fixtures/<name>/template.yaml before the tests of the enclosing
 * describe, closes their clients after each test (and waits, at most a few seconds, until their
 * $disconnect emptied the table) and the runtime after all.
 */
function runApp(name: string, tableId: string): App {
  const clients: Client[] = [];
  const app = {
    clients,
    join: async (query = ''): Promise<Client> => {
      const client = await connect(`${app.runtime.wsUrl}${query}`);
      clients.push(client);
      return client;
    },
    rows: async (): Promise<Record<string, AttributeValue>[]> =>
      (await app.db.send(new ScanCommand({ TableName: app.table, ConsistentRead: true }))).Items ?? [],
  } as App & { clients: Client[] };

  before(async () => {
    app.runtime = await startLocalRuntime({ templatePath: join(FIXTURES, name, 'template.yaml'), port: 0, dynamodbPort: 0, quiet: true });
    app.db = storeClient(app.runtime);
    app.table = app.runtime.tables[tableId] as string;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    // Each test starts with no connection in the table, if the app's $disconnect works.
    await eventually(async () => ((await app.rows()).length === 0 ? true : undefined), 5_000).catch(() => undefined);
  });
  after(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    app.db?.destroy();
    await app.runtime?.close();
  });
  return app;
}

/** The ids of the rows of `rows` (attribute `key`), sorted. */
const ids = (rows: Record<string, AttributeValue>[], key = 'connectionId'): string[] => rows.map((r) => r[key]?.S ?? '').sort();

/** Waits until the table holds exactly `count` rows. */
const rowCount = (app: App, count: number, what: string): Promise<true> =>
  eventually(async () => ((await app.rows()).length === count ? true : undefined), 10_000, what);

/**
 * As on AWS: every function of the template ran, none failed; every function's role was read
 * from the template (policy templates expanded, nothing the runtime "cannot evaluate locally")
 * and enforced; each (function, action) in `needed` was allowed by one of its grants; nothing
 * was denied.
 */
function expectRanAsOnAws(runtime: LocalRuntime, needed: Record<string, string[]>): void {
  const functions = Object.keys(needed).sort();
  const stats = runtime.stats();
  for (const fn of functions) {
    expect(stats[fn]?.invocations ?? 0, `${fn} was invoked`).to.be.above(0);
    expect(stats[fn]?.errors ?? 0, `${fn} errors`).to.equal(0);
  }
  expect(runtime.iam.mode).to.equal('enforce');
  expect(runtime.iam.denied(), 'calls IAM denied').to.deep.equal([]);
  const reports = runtime.iam.report();
  expect(reports.map((r) => r.functionId).sort(), 'functions IAM knows').to.deep.equal(functions);
  for (const report of reports) {
    const fn = report.functionId;
    expect(
      report.notes.filter((n) => /cannot be evaluated locally|not enforced|not an AWS::IAM::Role/.test(n)),
      `${fn}: what IAM could not read`,
    ).to.deep.equal([]);
    expect(report.enforceable, `${fn} enforced (${report.notes.join('; ')})`).to.equal(true);
    for (const action of needed[fn] ?? []) {
      const allowed = report.grants.filter((g) => g.action.toLowerCase() === action.toLowerCase()).reduce((sum, g) => sum + g.used, 0);
      expect(
        allowed,
        `${fn}: calls to ${action} its policies allowed (used: ${JSON.stringify(report.used.map((u) => `${u.action} ${u.resource}`))})`,
      ).to.be.above(0);
    }
  }
}

describe('foreign SAM WebSocket apps, unmodified (local/fixtures)', function () {
  this.timeout(60_000);

  describe('esm-broadcast: .mjs handlers, lib-dynamodb, DynamoDBCrudPolicy, endpoint https://${domainName}/${stage}', () => {
    const app = runApp('esm-broadcast', 'ConnectionsTable');

    it('serves its own stage, dev, and its table by the name the template gives it', () => {
      expect(app.runtime.stage).to.equal('dev');
      expect(app.runtime.wsUrl).to.match(/^ws:\/\/127\.0\.0\.1:\d+\/dev$/);
      expect(app.table).to.match(/-connections$/);
    });

    it('keeps each connection ($connect) and broadcasts a message to every connected client, the sender included', async () => {
      const [alice, bob, carol] = [await app.join(), await app.join(), await app.join()];
      await rowCount(app, 3, 'three connections kept by $connect');
      alice.send({ action: 'sendmessage', message: 'hello everyone' });
      for (const client of [alice, bob, carol]) expect(await client.nextJson()).to.deep.equal({ message: 'hello everyone' });
      bob.send({ action: 'sendmessage', message: 'hi alice' });
      for (const client of [alice, bob, carol]) expect(await client.nextJson()).to.deep.equal({ message: 'hi alice' });
      expect(await alice.quietFor(300), 'nothing more').to.deep.equal([]);
    });

    it('forgets a client that disconnects ($disconnect), and later messages reach the others only', async () => {
      const [alice, bob, carol] = [await app.join(), await app.join(), await app.join()];
      await rowCount(app, 3, 'three connections kept');
      await carol.close();
      await rowCount(app, 2, '$disconnect removed the one that left');
      alice.send({ action: 'sendmessage', message: 'carol left' });
      expect(await alice.nextJson()).to.deep.equal({ message: 'carol left' });
      expect(await bob.nextJson()).to.deep.equal({ message: 'carol left' });
      expect(carol.messages, 'the one that left').to.deep.equal([]);
    });

    it('deletes a stale connection when posting to it answers 410 GoneException, and still delivers to the others', async () => {
      const [alice, bob] = [await app.join(), await app.join()];
      await app.db.send(new PutItemCommand({ TableName: app.table, Item: { connectionId: { S: STALE_ID }, connectedAt: { N: '0' } } }));
      await rowCount(app, 3, 'two connections and the stale one');
      alice.send({ action: 'sendmessage', message: 'anyone there?' });
      expect(await alice.nextJson()).to.deep.equal({ message: 'anyone there?' });
      expect(await bob.nextJson()).to.deep.equal({ message: 'anyone there?' });
      await eventually(async () => (ids(await app.rows()).includes(STALE_ID) ? undefined : true), 10_000, 'the stale connection deleted');
      expect(await app.rows()).to.have.length(2);
    });

    it('ran as on AWS: no function error, IAM enforced from DynamoDBCrudPolicy and the inline statement, nothing denied', async () => {
      await rowCount(app, 0, 'every $disconnect ran');
      expectRanAsOnAws(app.runtime, {
        OnConnectFunction: ['dynamodb:PutItem'],
        OnDisconnectFunction: ['dynamodb:DeleteItem'],
        SendMessageFunction: ['dynamodb:Scan', 'dynamodb:DeleteItem', 'execute-api:ManageConnections'],
      });
    });
  });

  describe('cjs-rooms: CommonJS .js handlers, no package.json, DynamoDB Read/Write/Crud policies, endpoint https://${apiId}.execute-api.${AWS_REGION}.amazonaws.com/${stage}', () => {
    const app = runApp('cjs-rooms', 'RoomsTable');

    /** The caller's connection id, as the app's $default tells it. */
    const idOf = async (client: Client): Promise<string> => {
      client.send('who am i?');
      const { connectionId } = await client.nextJson<{ connectionId: string }>();
      expect(connectionId).to.match(/^[A-Za-z0-9_-]{15}=$/);
      return connectionId;
    };

    it('serves its own stage, v1, and its table by the name the template gives it', () => {
      expect(app.runtime.stage).to.equal('v1');
      expect(app.runtime.wsUrl).to.match(/^ws:\/\/127\.0\.0\.1:\d+\/v1$/);
      expect(app.table).to.equal('cjs-rooms-connections');
    });

    it('$default answers the caller with its connection id, and $connect put it in the room of ?room=', async () => {
      const alice = await app.join('?room=red');
      const aliceId = await idOf(alice);
      const { Item } = await app.db.send(
        new GetItemCommand({ TableName: app.table, Key: { room: { S: 'red' }, connectionId: { S: aliceId } } }),
      );
      expect(Item?.room?.S, 'the row $connect wrote').to.equal('red');
      alice.send({ action: 'nosuchroute' });
      expect(await alice.nextJson()).to.include({ connectionId: aliceId });
    });

    it("send reaches the others in the sender's room only", async () => {
      const [alice, bob, carol, erin, dave] = [
        await app.join('?room=red'),
        await app.join('?room=red'),
        await app.join('?room=blue'),
        await app.join('?room=blue'),
        await app.join(),
      ];
      const [aliceId, carolId] = [await idOf(alice), await idOf(carol)];
      for (const c of [bob, erin, dave]) await idOf(c);
      await eventually(
        async () => (ids(await app.rows(), 'room').join() === 'blue,blue,lobby,red,red' ? true : undefined),
        10_000,
        'two in red, two in blue, one in the lobby',
      );

      alice.send({ action: 'send', text: 'hello red' });
      expect(await bob.nextJson()).to.deep.equal({ room: 'red', from: aliceId, text: 'hello red' });
      carol.send({ action: 'send', text: 'hello blue' });
      expect(await erin.nextJson()).to.deep.equal({ room: 'blue', from: carolId, text: 'hello blue' });
      expect(await alice.quietFor(500), 'the red sender').to.deep.equal([]);
      expect(bob.messages, "bob, after alice's message").to.deep.equal([]);
      expect(carol.messages, 'the blue sender').to.deep.equal([]);
      expect(erin.messages, "erin, after carol's message").to.deep.equal([]);
      expect(dave.messages, 'the lobby').to.deep.equal([]);
    });

    it('takes a client that disconnects out of its room ($disconnect through the index), and tolerates a stale one (410 logged)', async () => {
      const [alice, bob, carol] = [await app.join('?room=green'), await app.join('?room=green'), await app.join('?room=green')];
      const [aliceId, carolId] = [await idOf(alice), await idOf(carol)];
      await idOf(bob);
      await bob.close();
      await rowCount(app, 2, '$disconnect removed the one that left');
      expect(ids(await app.rows())).to.deep.equal([aliceId, carolId].sort());

      await app.db.send(
        new PutItemCommand({ TableName: app.table, Item: { room: { S: 'green' }, connectionId: { S: STALE_ID }, joinedAt: { N: '0' } } }),
      );
      const sends = app.runtime.stats().SendFunction?.invocations ?? 0;
      alice.send({ action: 'send', text: 'still here' });
      expect(await carol.nextJson()).to.deep.equal({ room: 'green', from: aliceId, text: 'still here' });
      expect(bob.messages, 'the one that left').to.deep.equal([]);
      // The app only logs the GoneException (its SendFunction may not write): the row stays, and
      // the invocation succeeds (checked below with the other functions' errors).
      await eventually(
        async () => ((app.runtime.stats().SendFunction?.invocations ?? 0) > sends ? true : undefined),
        10_000,
        'SendFunction done',
      );
      expect(ids(await app.rows())).to.include(STALE_ID);
      await app.db.send(new DeleteItemCommand({ TableName: app.table, Key: { room: { S: 'green' }, connectionId: { S: STALE_ID } } }));
    });

    it('ran as on AWS: no function error, IAM enforced from the policy templates and the inline statements, nothing denied', async () => {
      await rowCount(app, 0, 'every $disconnect ran');
      expectRanAsOnAws(app.runtime, {
        ConnectFunction: ['dynamodb:PutItem'],
        DisconnectFunction: ['dynamodb:Query', 'dynamodb:DeleteItem'],
        SendFunction: ['dynamodb:Query', 'execute-api:ManageConnections'],
        DefaultFunction: ['execute-api:ManageConnections'],
      });
    });
  });

  describe('module-single-function: "type": "module" .js, one function for every route, DynamoDBCrudPolicy', () => {
    const app = runApp('module-single-function', 'SessionsTable');

    it('serves its own stage, prod, and its table by the name the template gives it', () => {
      expect(app.runtime.stage).to.equal('prod');
      expect(app.runtime.wsUrl).to.match(/^ws:\/\/127\.0\.0\.1:\d+\/prod$/);
      expect(app.table).to.equal('module-single-function-sessions');
    });

    it('refuses a connect without ?token= (its $connect answers 401), and keeps no session for it', async () => {
      expect((await refusal(app.runtime.wsUrl)).status, 'no token').to.equal(401);
      expect((await refusal(`${app.runtime.wsUrl}?token=`)).status, 'an empty token').to.equal(401);
      expect((await refusal(`${app.runtime.wsUrl}?room=a`)).status, 'another parameter').to.equal(401);
      expect(await app.rows()).to.deep.equal([]);
      const accepted = await app.join('?token=secret');
      await rowCount(app, 1, 'the session of the accepted connect');
      expect(accepted.ws.readyState).to.equal(accepted.ws.OPEN);
    });

    it('echo answers the caller only, counting its messages', async () => {
      const [alice, bob] = [await app.join('?token=a'), await app.join('?token=b')];
      alice.send({ action: 'echo', message: 'one' });
      expect(await alice.nextJson()).to.deep.equal({ echo: 'one', count: 1 });
      alice.send({ action: 'echo', message: { nested: ['two'] } });
      expect(await alice.nextJson()).to.deep.equal({ echo: { nested: ['two'] }, count: 2 });
      bob.send({ action: 'echo', message: 'bob' });
      expect(await bob.nextJson()).to.deep.equal({ echo: 'bob', count: 1 });
      expect(await alice.quietFor(300), 'alice, after her echoes').to.deep.equal([]);
    });

    it('$default answers an unknown action, or a message that is not JSON, with an error', async () => {
      const alice = await app.join('?token=a');
      alice.send({ action: 'dance' });
      expect(await alice.nextJson()).to.deep.equal({ error: 'Unknown action', received: '{"action":"dance"}' });
      alice.send('plain text');
      expect(await alice.nextJson()).to.deep.equal({ error: 'Unknown action', received: 'plain text' });
    });

    it('$disconnect removes the session of a client that leaves', async () => {
      const [alice, bob] = [await app.join('?token=a'), await app.join('?token=b')];
      await rowCount(app, 2, 'two sessions');
      await alice.close();
      await rowCount(app, 1, 'the session of the one that left removed');
      bob.send({ action: 'echo', message: 'alone' });
      expect(await bob.nextJson()).to.deep.equal({ echo: 'alone', count: 1 });
    });

    it('ran as on AWS: no function error, IAM enforced from DynamoDBCrudPolicy and the inline statement, nothing denied', async () => {
      await rowCount(app, 0, 'every $disconnect ran');
      expectRanAsOnAws(app.runtime, {
        WebSocketFunction: ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem', 'execute-api:ManageConnections'],
      });
    });
  });
});
