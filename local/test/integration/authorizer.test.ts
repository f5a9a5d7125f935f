/**
 * Lambda REQUEST authorizers in the local runtime (local/src/apigateway/authorizer.ts), on the fixture
 * template with Authorized=yes: its ConnectRoute's AuthorizationType and AuthorizerId come
 * through Fn::If, and the authorizer and its function exist only under that condition.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import type { LocalRuntime } from '../../src/index';
import { connect, keptEvent, refusal, startRuntime, storeClient, type Client } from '../helpers';

const KEY = { 'X-Fixture-Key': 'k-42' };

describe('local runtime: Lambda REQUEST authorizers ($connect)', function () {
  this.timeout(60_000);
  let runtime: LocalRuntime;
  let db: DynamoDBClient;
  const clients: Client[] = [];

  const invocations = (): number => runtime.stats().AuthorizeFunction?.invocations ?? 0;
  const url = (verdict: string): string => `${runtime.wsUrl}?verdict=${verdict}`;

  before(async () => {
    runtime = await startRuntime({ parameterOverrides: { Authorized: 'yes' } });
    db = storeClient(runtime);
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    db?.destroy();
    await runtime?.close();
  });

  it("reads the authorizer from the template only under its condition, and the route's through Fn::If", async () => {
    // Assess
    expect(runtime.template.routes.get('$connect')?.authorizer).to.deep.equal({
      logicalId: 'FixtureAuthorizer',
      functionId: 'AuthorizeFunction',
      identitySource: ['route.request.header.X-Fixture-Key', 'route.request.querystring.verdict'],
    });
    const unguarded = await startRuntime();
    try {
      expect(unguarded.template.routes.get('$connect')?.authorizer).to.equal(undefined);
      expect(unguarded.template.functions.has('AuthorizeFunction')).to.equal(false);
    } finally {
      await unguarded.close();
    }
  });

  it('allows a connection with the identity sources present, and gives the authorizer a REQUEST event', async () => {
    // Act
    const client = await connect(url('allow'), { headers: KEY });
    clients.push(client);
    client.send({ action: 'echo' });
    const { event } = await client.nextJson<{ event: { requestContext: { connectionId: string } } }>();
    const authorizerEvent = await keptEvent(db, runtime.tables.EventsTable as string, event.requestContext.connectionId, 'authorizer');

    // Assess
    expect(authorizerEvent).to.deep.include({
      type: 'REQUEST',
      methodArn: `arn:aws:execute-api:us-east-1:123456789012:${runtime.template.apiId}/${runtime.stage}/$connect`,
      queryStringParameters: { verdict: 'allow' },
      stageVariables: {},
    });
    expect((authorizerEvent.headers as Record<string, string>)['X-Fixture-Key']).to.equal('k-42');
    expect(authorizerEvent.requestContext).to.deep.include({
      routeKey: '$connect',
      eventType: 'CONNECT',
      connectionId: event.requestContext.connectionId,
    });
  });

  it("passes the policy's context, principalId and integrationLatency as requestContext.authorizer to $connect, every message and $disconnect", async () => {
    // Prepare
    const client = await connect(url('allow'), { headers: KEY });

    // Act
    client.send({ action: 'echo' });
    const { event } = await client.nextJson<{
      event: { requestContext: { connectionId: string; authorizer?: Record<string, unknown> } };
    }>();
    const { connectionId } = event.requestContext;
    await client.close();
    const table = runtime.tables.EventsTable as string;
    const [connected, disconnected] = await Promise.all([
      keptEvent(db, table, connectionId, '$connect'),
      keptEvent(db, table, connectionId, '$disconnect'),
    ]);

    // Assess
    for (const [route, context] of [
      ['message', event.requestContext.authorizer],
      ['$connect', (connected.requestContext as Record<string, unknown>).authorizer],
      ['$disconnect', (disconnected.requestContext as Record<string, unknown>).authorizer],
    ] as const) {
      expect(context, route).to.deep.include({ key: 'k-42', n: 7, ok: true, principalId: 'key-k-42' });
      expect((context as Record<string, unknown>).integrationLatency, route).to.be.a('number');
    }
  });

  for (const [label, headers, verdict] of [
    ['without its header identity source', {}, 'allow'],
    ['with its header empty', { 'X-Fixture-Key': ' ' }, 'allow'],
    ['without its query string identity source', KEY, undefined],
  ] as const) {
    it(`refuses a connect ${label} with 401, without invoking the authorizer or $connect`, async () => {
      // Prepare
      const before = { authorizer: invocations(), connect: runtime.stats().ConnectFunction?.invocations ?? 0 };

      // Act
      const refused = await refusal(verdict === undefined ? runtime.wsUrl : url(verdict), { headers });

      // Assess
      expect(refused).to.deep.equal({ status: 401, body: '{"message":"Unauthorized"}' });
      expect(invocations()).to.equal(before.authorizer);
      expect(runtime.stats().ConnectFunction?.invocations ?? 0).to.equal(before.connect);
    });
  }

  for (const [verdict, status, body, meaning] of [
    ['unauthorized', 401, 'Unauthorized', 'it throws Unauthorized'],
    ['deny', 403, 'Forbidden', 'its policy denies'],
    ['elsewhere', 403, 'Forbidden', 'its policy allows another resource only'],
    ['throw', 500, 'Internal server error', 'it throws anything else'],
    ['slow', 500, 'Internal server error', 'it times out (1 s)'],
    ['nested-context', 500, 'Internal server error', 'its context holds an object'],
  ] as const) {
    it(`answers ${status} when ${meaning}, and never runs $connect`, async () => {
      // Prepare
      const before = { authorizer: invocations(), connect: runtime.stats().ConnectFunction?.invocations ?? 0 };

      // Act
      const refused = await refusal(url(verdict), { headers: KEY });

      // Assess
      expect(refused).to.deep.equal({ status, body: JSON.stringify({ message: body }) });
      expect(invocations()).to.equal(before.authorizer + 1);
      expect(runtime.stats().ConnectFunction?.invocations ?? 0).to.equal(before.connect);
    });
  }

  it('plays no token issuer for a template without a user pool: GET /_local/token answers {"issuer": null}, a POST 404', async () => {
    // Act
    const endpoint = new URL('/_local/token', runtime.httpUrl);
    const described = await fetch(endpoint);
    const issued = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"eve"}' });

    // Assess
    expect(runtime.issuer).to.equal(undefined);
    expect([described.status, await described.json()]).to.deep.equal([200, { issuer: null }]);
    expect(issued.status).to.equal(404);
    expect(await issued.json())
      .to.have.property('message')
      .that.matches(/no Cognito user pool/);
  });

  it('keeps serving after its authorizer failed', async () => {
    // Act
    await refusal(url('throw'), { headers: KEY });
    const client = await connect(url('allow'), { headers: KEY });
    clients.push(client);
    client.send({ action: 'echo' });

    // Assess
    expect(await client.nextJson()).to.have.property('event');
  });
});
