/**
 * The WebSocket side of the local API Gateway, driven by real `ws` clients against the fixture
 * template: $connect acceptance and refusal, subprotocols, route selection and $default,
 * event shapes, $disconnect codes, errors and timeouts, and routes only the fixture has.
 */
import { expect } from 'chai';
import type { LocalRuntime } from '../../src/index';
import { connect, connectWithId, keptEvent, refusal, startRuntime, storeClient } from '../helpers';

describe('local WebSocket API (fixture template)', () => {
  let runtime: LocalRuntime;
  let db: ReturnType<typeof storeClient>;
  let eventsTable: string;

  before(async () => {
    runtime = await startRuntime();
    db = storeClient(runtime);
    eventsTable = runtime.tables.EventsTable as string;
  });
  after(async () => {
    db?.destroy();
    await runtime?.close();
  });

  describe('$connect', () => {
    it('serves the stage from the template at ws://127.0.0.1:<port>/<stage>', () => {
      expect(runtime.stage).to.equal('test');
      expect(runtime.wsUrl).to.match(/^ws:\/\/127\.0\.0\.1:\d+\/test$/);
    });

    it('accepts on 2xx and passes the upgrade headers and query string as API Gateway does', async () => {
      const { client, connectionId } = await connectWithId(runtime, '?room=r1&tag=a&tag=b');
      const event = await keptEvent(db, eventsTable, connectionId, '$connect');
      expect(event.queryStringParameters).to.deep.equal({ room: 'r1', tag: 'b' });
      expect(event.multiValueQueryStringParameters).to.deep.equal({ room: ['r1'], tag: ['a', 'b'] });
      const headers = event.headers as Record<string, string>;
      expect(headers).to.include.keys(
        'Host',
        'Sec-WebSocket-Key',
        'Sec-WebSocket-Version',
        'X-Forwarded-For',
        'X-Forwarded-Port',
        'X-Forwarded-Proto',
        'X-Amzn-Trace-Id',
      );
      expect(headers['X-Forwarded-For']).to.equal('127.0.0.1');
      expect((event.multiValueHeaders as Record<string, string[]>)['Sec-WebSocket-Version']).to.deep.equal(['13']);
      expect(event.isBase64Encoded).to.equal(false);
      const context = event.requestContext as Record<string, unknown>;
      expect(context).to.include({ routeKey: '$connect', eventType: 'CONNECT', messageDirection: 'IN', stage: 'test', connectionId });
      expect(context.apiId).to.match(/^[a-z0-9]{10}$/);
      expect(context.domainName).to.match(/^127\.0\.0\.1:\d+$/);
      expect(context.requestId).to.match(/^[A-Za-z0-9_-]{15}=$/);
      expect(context.extendedRequestId).to.equal(context.requestId);
      expect(context.requestTime).to.match(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
      expect(context.connectedAt).to.be.a('number');
      expect(context.requestTimeEpoch).to.be.a('number');
      expect(context.identity).to.deep.equal({ sourceIp: '127.0.0.1' });
      await client.close();
    });

    it('omits the query string fields when there is no query string', async () => {
      const { client, connectionId } = await connectWithId(runtime);
      const event = await keptEvent(db, eventsTable, connectionId, '$connect');
      expect(event).not.to.have.any.keys('queryStringParameters', 'multiValueQueryStringParameters');
      await client.close();
    });

    it("gives connection ids shaped like API Gateway's (16 characters, base64)", async () => {
      const { client, connectionId } = await connectWithId(runtime);
      expect(connectionId).to.match(/^[A-Za-z0-9_-]{15}=$/);
      await client.close();
    });

    it('refuses with the status the handler returns', async () => {
      const { status, body } = await refusal(`${runtime.wsUrl}?status=403`);
      expect(status).to.equal(403);
      expect(body).to.equal('refused on purpose');
    });

    it("refuses with 502 and API Gateway's error body when $connect throws", async () => {
      const { status, body } = await refusal(`${runtime.wsUrl}?throw=1`);
      expect(status).to.equal(502);
      expect(JSON.parse(body)).to.include({ message: 'Internal server error' });
    });

    it('gives the client the Sec-WebSocket-Protocol the handler answers', async () => {
      const client = await connect(`${runtime.wsUrl}?protocol=chat.v1`, { protocols: ['chat.v1', 'other'] });
      expect(client.ws.protocol).to.equal('chat.v1');
      await client.close();
    });

    it('selects no protocol when the handler answers none', async () => {
      const client = await connect(runtime.wsUrl, { protocols: ['chat.v1'] }).catch((e: Error) => e);
      // ws, like browsers, fails a handshake in which the server ignored the offered protocols.
      expect(client).to.be.instanceOf(Error);
    });

    it('answers 403 for a path that is not the stage', async () => {
      const { status } = await refusal(runtime.wsUrl.replace(/\/test$/, '/production'));
      expect(status).to.equal(403);
    });

    it('answers plain HTTP to the stage path 426 Upgrade Required, as API Gateway does', async () => {
      for (const path of ['/test', '/test/']) {
        const res = await fetch(`${runtime.httpUrl.replace(/\/$/, '')}${path}`);
        expect(res.status, path).to.equal(426);
        expect(await res.json(), path).to.deep.equal({ message: 'Upgrade Required' });
      }
    });
  });

  describe('route selection', () => {
    it('runs the route named by $request.body.action, a route only the fixture template has', async () => {
      const client = await connect(runtime.wsUrl);
      client.send({ action: 'echo', n: 1 });
      const { event } = await client.nextJson<{ event: Record<string, unknown> }>();
      const context = event.requestContext as Record<string, unknown>;
      expect(context).to.include({ routeKey: 'echo', eventType: 'MESSAGE', messageDirection: 'IN', stage: 'test' });
      expect(context.messageId).to.match(/^[A-Za-z0-9_-]{15}=$/);
      expect(event.body).to.equal('{"action":"echo","n":1}');
      expect(event.isBase64Encoded).to.equal(false);
      expect(event).not.to.have.any.keys('headers', 'queryStringParameters');
      await client.close();
    });

    it('sends non-JSON messages, unknown actions and missing actions to $default', async () => {
      const client = await connect(runtime.wsUrl);
      for (const body of ['test', '{"action":"nope"}', '{"message":"no action"}', '{"action":{"nested":true}}', '[1,2]']) {
        client.send(body);
        const { event } = await client.nextJson<{ event: { requestContext: { routeKey: string }; body: string } }>();
        expect(event.requestContext.routeKey, body).to.equal('$default');
        expect(event.body).to.equal(body);
      }
      await client.close();
    });

    it("sends the handler's body back only on a route with a route response", async () => {
      const client = await connect(runtime.wsUrl);
      client.send({ action: 'twoway' });
      expect(await client.next()).to.equal('pong: {"action":"twoway"}');
      await client.close();
    });
  });

  describe('errors and timeouts', () => {
    it('answers a thrown error as API Gateway does and keeps serving', async () => {
      const client = await connect(runtime.wsUrl);
      client.send({ action: 'boom' });
      const reply = await client.next();
      expect(reply).to.match(
        /^\{"message": "Internal server error", "connectionId":"[A-Za-z0-9_-]{15}=", "requestId":"[A-Za-z0-9_-]{15}="\}$/,
      );
      client.send({ action: 'echo' });
      expect((await client.nextJson()).event).to.be.an('object');
      await client.close();
    });

    it('stops a function at its Timeout and answers Internal server error', async () => {
      const client = await connect(runtime.wsUrl);
      const started = Date.now();
      client.send({ action: 'slow' });
      expect(JSON.parse(await client.next())).to.include({ message: 'Internal server error' });
      expect(Date.now() - started).to.be.within(950, 8000);
      client.send({ action: 'echo' });
      expect((await client.nextJson()).event).to.be.an('object');
      await client.close();
    });
  });

  describe('$disconnect', () => {
    it("reports the client's close code and reason", async () => {
      const { client, connectionId } = await connectWithId(runtime);
      await client.close(4001, 'bye now');
      const event = await keptEvent(db, eventsTable, connectionId, '$disconnect');
      const context = event.requestContext as Record<string, unknown>;
      expect(context).to.include({
        routeKey: '$disconnect',
        eventType: 'DISCONNECT',
        disconnectStatusCode: 4001,
        disconnectReason: 'bye now',
        connectionId,
      });
      expect(event.headers).to.include.keys('Host', 'X-Forwarded-For');
    });

    it('reports 1005 when the client closes without a code, and 1006 when the socket just drops', async () => {
      const a = await connectWithId(runtime);
      await a.client.close();
      expect((await keptEvent(db, eventsTable, a.connectionId, '$disconnect')).requestContext).to.include({ disconnectStatusCode: 1005 });
      const b = await connectWithId(runtime);
      b.client.ws.terminate();
      expect((await keptEvent(db, eventsTable, b.connectionId, '$disconnect')).requestContext).to.include({ disconnectStatusCode: 1006 });
    });
  });
});

describe('local WebSocket API: a template without $default', () => {
  it("answers a message no route selects with API Gateway's Forbidden frame", async () => {
    const runtime = await startRuntime({ templatePath: `${__dirname}/../fixtures/no-default.yaml` });
    try {
      const client = await connect(runtime.wsUrl);
      client.send('no route for this');
      expect(await client.next()).to.match(
        /^\{"message": "Forbidden", "connectionId":"[A-Za-z0-9_-]{15}=", "requestId":"[A-Za-z0-9_-]{15}="\}$/,
      );
      client.send({ action: 'ping' });
      expect(await client.next()).to.equal('pong');
      await client.close();
    } finally {
      await runtime.close();
    }
  });
});

describe('local WebSocket API: integration timeout', () => {
  it('answers "Endpoint request timed out" when the integration takes longer than API Gateway waits', async () => {
    const runtime = await startRuntime({ limits: { integrationTimeoutMs: 300 } });
    try {
      const client = await connect(runtime.wsUrl);
      client.send({ action: 'slow' });
      expect(JSON.parse(await client.next())).to.include({ message: 'Endpoint request timed out' });
      expect(await client.quietFor(1500)).to.deep.equal([]);
      await client.close();
    } finally {
      await runtime.close();
    }
  });
});
