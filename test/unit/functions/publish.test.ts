import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import { handler } from '../../../functions/publish';
import {
  apiMock,
  conditionFailed,
  connectionItems,
  ddbMock,
  framesTo,
  lambdaContext,
  loadBackendEvent,
  posts,
  resetMocks,
} from '../helpers';

const CALLER = 'arn:aws:iam::123456789012:user/chat-backend';

function withBody(body: unknown): ReturnType<typeof loadBackendEvent> {
  const event = loadBackendEvent('publish');
  event.body = JSON.stringify(body);
  return event;
}

const answer = (result: { body?: string }) => JSON.parse(result.body ?? '') as Record<string, unknown>;

describe('function: publish (POST /messages of the backend API)', () => {
  beforeEach(() => {
    resetMocks();
    ddbMock.on(PutItemCommand).resolves({});
    ddbMock.on(UpdateItemCommand).resolves({});
    ddbMock.on(GetItemCommand).resolves({});
    ddbMock.on(QueryCommand).resolves({ Items: connectionItems(2, 'm', { room: 'lobby', protocol: 'chat.v1' }) });
    apiMock.on(PostToConnectionCommand).resolves({});
  });

  it('stores the message marked backend, posts it to everyone in the room and answers it (the fixture)', async () => {
    // Act
    const result = await handler(loadBackendEvent('publish'), lambdaContext('publish'));

    // Assess
    expect(result.statusCode).to.equal(200);
    expect(result.headers).to.deep.equal({ 'content-type': 'application/json' });
    const { message, repeat } = answer(result) as { message: Record<string, unknown>; repeat: boolean };
    expect(repeat).to.equal(false);
    expect(message).to.deep.include({ room: 'lobby', name: 'ci-bot', text: 'The build is green.', backend: true });
    expect(framesTo('m0')).to.deep.equal([{ type: 'message', ...message }]);
    expect(framesTo('m1')).to.deep.equal([{ type: 'message', ...message }]);
    const stored = ddbMock.commandCalls(PutItemCommand).find((c) => c.args[0].input.Item?.text !== undefined)?.args[0].input.Item;
    expect(stored).to.deep.include({ backend: { BOOL: true }, connectionId: { S: `backend#${CALLER}` } });
  });

  it("goes by the name system unless given one, and counts against the caller's own bucket", async () => {
    // Act
    const result = await handler(withBody({ room: 'ops', text: 'deploy started' }), lambdaContext('publish'));

    // Assess
    expect((answer(result).message as Record<string, unknown>).name).to.equal('system');
    const buckets = ddbMock.commandCalls(UpdateItemCommand, { TableName: 'rate-limits-table' }).map((c) => c.args[0].input.Key);
    expect(buckets).to.deep.equal([{ bucket: { S: `backend#${CALLER}` } }]);
  });

  for (const [label, body, code, status] of [
    ['no room', { text: 'x' }, 'invalid_request', 400],
    ['a room of the wrong form', { room: 'a b', text: 'x' }, 'invalid_request', 400],
    ['no text', { room: 'lobby' }, 'invalid_request', 400],
    ['an unknown field', { room: 'lobby', text: 'x', message: 'x' }, 'invalid_request', 400],
    ['an id of the wrong form', { room: 'lobby', text: 'x', id: 'has space' }, 'invalid_request', 400],
    ['a name with a control character', { room: 'lobby', text: 'x', name: 'bot\u0007' }, 'invalid_name', 400],
    ['a text over MAX_MESSAGE_BYTES', { room: 'lobby', text: 'x'.repeat(4097) }, 'message_too_long', 400],
  ] as const) {
    it(`refuses ${label} with ${status} ${code}, storing and sending nothing`, async () => {
      // Act
      const result = await handler(withBody(body), lambdaContext('publish'));

      // Assess
      expect(result.statusCode).to.equal(status);
      expect(answer(result).code).to.equal(code);
      expect(String(answer(result).message)).to.not.equal('');
      expect(ddbMock.commandCalls(PutItemCommand)).to.have.length(0);
      expect(posts()).to.have.length(0);
    });
  }

  it('answers a body that is not JSON with 400 invalid_json', async () => {
    // Prepare
    const event = loadBackendEvent('publish');
    event.body = 'not json';

    // Act
    const result = await handler(event, lambdaContext('publish'));

    // Assess
    expect(result.statusCode).to.equal(400);
    expect(answer(result).code).to.equal('invalid_json');
  });

  it('a caller over its rate limit gets 429 rate_limited', async () => {
    // Prepare
    ddbMock.on(UpdateItemCommand, { TableName: 'rate-limits-table' }).rejects(conditionFailed());

    // Act
    const result = await handler(loadBackendEvent('publish'), lambdaContext('publish'));

    // Assess
    expect(result.statusCode).to.equal(429);
    expect(answer(result)).to.deep.include({ code: 'rate_limited' });
    expect(posts()).to.have.length(0);
  });

  it('a repeated id stores and sends nothing new and answers the original', async () => {
    // Prepare: the id's record names a message already stored
    const original = {
      room: { S: 'lobby' },
      id: { S: '01HQ3Z9V5X8G2M4N6P7R8S0007' },
      name: { S: 'ci-bot' },
      text: { S: 'The build is green.' },
      sentAt: { S: '2022-01-25T18:50:07.642Z' },
      backend: { BOOL: true },
    };
    ddbMock
      .on(GetItemCommand)
      .callsFake((input: { Key?: Record<string, { S?: string }> }) =>
        input.Key?.id?.S === original.id.S
          ? { Item: original }
          : { Item: { messageId: original.id, sentAt: original.sentAt, expiresAt: { N: '4102444800' } } },
      );

    // Act
    const result = await handler(loadBackendEvent('publish'), lambdaContext('publish'));

    // Assess
    expect(answer(result)).to.deep.include({ repeat: true });
    expect((answer(result).message as Record<string, unknown>).id).to.equal(original.id.S);
    expect(ddbMock.commandCalls(PutItemCommand)).to.have.length(0);
    expect(posts()).to.have.length(0);
  });

  it('refuses an event without an IAM caller (a route deployed without AWS_IAM) with 403, doing nothing', async () => {
    // Prepare
    const event = loadBackendEvent('publish');
    delete (event.requestContext as { authorizer?: unknown }).authorizer;

    // Act
    const result = await handler(event, lambdaContext('publish'));

    // Assess
    expect(result.statusCode).to.equal(403);
    expect(ddbMock.calls()).to.have.length(0);
  });

  it('answers an unexpected failure with 500 and no detail', async () => {
    // Prepare
    ddbMock.on(UpdateItemCommand, { TableName: 'messages-table' }).rejects(new Error('InternalServerError: the store is down'));

    // Act
    const result = await handler(loadBackendEvent('publish'), lambdaContext('publish'));

    // Assess
    expect(result.statusCode).to.equal(500);
    expect(answer(result)).to.deep.equal({ code: 'internal_error', message: 'Internal server error' });
  });
});
