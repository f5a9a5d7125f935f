import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import { ChatError, MetricUnit, logger, metrics, websocketHandler } from 'chat-core';
import sinon from 'sinon';
import { CALLER_ID, apiMock, connectionItem, ddbMock, expectRejection, lambdaContext, loadEvent, posts, resetMocks } from '../helpers';

describe('layer: websocketHandler', () => {
  beforeEach(() => {
    resetMocks();
    apiMock.on(PostToConnectionCommand).resolves({});
  });

  afterEach(() => {
    sinon.restore();
  });

  it('returns what the route returns', async () => {
    // Prepare
    const handler = websocketHandler(async () => ({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'chat.v1' } }));

    // Act
    const result = await handler(loadEvent('connect'), lambdaContext());

    // Assess
    expect(result).to.deep.equal({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'chat.v1' } });
  });

  it('answers 200 when the route returns nothing', async () => {
    // Prepare
    const handler = websocketHandler(async () => undefined);

    // Act
    const result = await handler(loadEvent('sendmessage'), lambdaContext());

    // Assess
    expect(result).to.deep.equal({ statusCode: 200 });
  });

  it('passes the event and context to the route', async () => {
    // Prepare
    const route = sinon.fake.resolves(undefined);
    const handler = websocketHandler(route);
    const event = loadEvent('members');
    const context = lambdaContext('members');

    // Act
    await handler(event, context);

    // Assess
    expect(route.calledOnceWithExactly(event, context)).to.equal(true);
  });

  it("refuses a $connect with 400 and the ChatError's message, sending nothing", async () => {
    // Prepare
    const handler = websocketHandler(async () => {
      throw new ChatError('invalid_room', 'room must be 1-64 characters of A-Z, a-z, 0-9, _ or -');
    });

    // Act
    const result = await handler(loadEvent('connect'), lambdaContext());

    // Assess
    expect(result).to.deep.equal({ statusCode: 400, body: 'room must be 1-64 characters of A-Z, a-z, 0-9, _ or -' });
    expect(apiMock.calls()).to.have.length(0);
  });

  it('refuses a $connect with 403 when the token does not allow the room (room_not_allowed)', async () => {
    // Prepare
    const handler = websocketHandler(async () => {
      throw new ChatError('room_not_allowed', 'your sign-in does not allow room ops');
    });

    // Act
    const result = await handler(loadEvent('connect'), lambdaContext());

    // Assess
    expect(result).to.deep.equal({ statusCode: 403, body: 'your sign-in does not allow room ops' });
  });

  it("answers a ChatError on a message route with an error frame in the caller's protocol (chat.v1)", async () => {
    // Prepare
    ddbMock.on(GetItemCommand).resolves({ Item: connectionItem({ connectionId: CALLER_ID, protocol: 'chat.v1' }) });
    const handler = websocketHandler(async () => {
      throw new ChatError('rate_limited', 'slow down');
    });

    // Act
    const result = await handler(loadEvent('sendmessage'), lambdaContext());

    // Assess
    expect(result).to.deep.equal({ statusCode: 200 });
    expect(posts()).to.deep.equal([{ to: CALLER_ID, text: '{"type":"error","code":"rate_limited","message":"slow down"}' }]);
  });

  it('answers a plain (or unknown) caller with "Error: " and the message', async () => {
    // Prepare
    ddbMock.on(GetItemCommand).resolves({});
    const handler = websocketHandler(async () => {
      throw new ChatError('not_connected', 'this connection is not registered; reconnect');
    });

    // Act
    await handler(loadEvent('history'), lambdaContext());

    // Assess
    expect(posts()).to.deep.equal([{ to: CALLER_ID, text: 'Error: this connection is not registered; reconnect' }]);
  });

  it('sends nothing for a ChatError on $disconnect', async () => {
    // Prepare
    const handler = websocketHandler(async () => {
      throw new ChatError('not_connected', 'x');
    });

    // Act
    const result = await handler(loadEvent('disconnect'), lambdaContext());

    // Assess
    expect(result).to.deep.equal({ statusCode: 200 });
    expect(apiMock.calls()).to.have.length(0);
    expect(ddbMock.calls()).to.have.length(0);
  });

  for (const file of ['connect', 'sendmessage', 'disconnect'] as const) {
    it(`rethrows an unexpected error on ${file} (API Gateway answers "Internal server error"), telling the client nothing`, async () => {
      // Prepare
      const failure = new Error('DynamoDB exploded');
      failure.stack = 'Error: DynamoDB exploded\n    at secret (/var/task/index.js:1:1)';
      const handler = websocketHandler(async () => {
        throw failure;
      });

      // Act
      const error = await expectRejection(handler(loadEvent(file), lambdaContext()));

      // Assess
      expect(error).to.equal(failure);
      expect(apiMock.calls()).to.have.length(0);
    });
  }

  it('logs with the connection, route and request ids, and removes them afterwards', async () => {
    // Prepare
    const appendKeys = sinon.spy(logger, 'appendKeys');
    const removeKeys = sinon.spy(logger, 'removeKeys');
    const handler = websocketHandler(async () => undefined);

    // Act
    await handler(loadEvent('sendmessage'), lambdaContext());

    // Assess
    expect(appendKeys.calledWith({ connectionId: CALLER_ID, routeKey: 'sendmessage', requestId: 'Mg_uhE-ZvHcFbXg=' })).to.equal(true);
    expect(removeKeys.calledWith(['connectionId', 'routeKey', 'requestId'])).to.equal(true);
  });

  it('publishes the metrics even when the route fails', async () => {
    // Prepare
    const publish = sinon.stub(metrics, 'publishStoredMetrics');
    const handler = websocketHandler(async () => {
      metrics.addMetric('Messages', MetricUnit.Count, 1);
      throw new Error('boom');
    });

    // Act
    await expectRejection(handler(loadEvent('sendmessage'), lambdaContext()));

    // Assess
    expect(publish.callCount).to.equal(1);
    metrics.clearMetrics();
  });

  it('publishes nothing (and warns of nothing) when the route recorded no metrics', async () => {
    // Prepare
    const publish = sinon.stub(metrics, 'publishStoredMetrics');
    const handler = websocketHandler(async () => undefined);

    // Act
    await handler(loadEvent('sendmessage'), lambdaContext());

    // Assess
    expect(publish.callCount).to.equal(0);
  });
});
