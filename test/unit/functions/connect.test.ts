import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { GoneException } from '@aws-sdk/client-apigatewaymanagementapi';
import { expect } from 'chai';
import { handler } from '../../../functions/connect';
import {
  CALLER_ID,
  apiMock,
  authorized,
  connectionItem,
  ddbMock,
  expectRejection,
  fakePresenceItems,
  framesTo,
  lambdaContext,
  loadEvent,
  resetMocks,
} from '../helpers';

/** The item $connect stored. */
function stored(): Record<string, unknown> | undefined {
  return ddbMock.commandCalls(PutItemCommand)[0]?.args[0].input.Item;
}

describe('function: connect ($connect)', () => {
  beforeEach(() => {
    resetMocks();
    fakePresenceItems();
    ddbMock.on(PutItemCommand).resolves({});
    ddbMock.on(QueryCommand).resolves({ Items: [] });
    ddbMock.on(BatchWriteItemCommand).resolves({});
    ddbMock.on(GetItemCommand).resolves({}); // no ban
    apiMock.on(PostToConnectionCommand).resolves({});
  });

  it('tutorial: stores the connection id, in room lobby, protocol plain, and accepts (200, no subprotocol)', async () => {
    // Prepare
    const event = loadEvent('connect');

    // Act
    const result = await handler(event, lambdaContext('connect'));

    // Assess
    expect(result).to.deep.equal({ statusCode: 200 });
    const calls = ddbMock.commandCalls(PutItemCommand);
    expect(calls).to.have.length(1);
    expect(calls[0]?.args[0].input.TableName).to.equal('connections-table');
    expect(stored()).to.deep.include({
      connectionId: { S: CALLER_ID },
      room: { S: 'lobby' },
      protocol: { S: 'plain' },
    });
    expect(stored()?.name, 'a generated name, nothing of the connection id')
      .to.have.property('S')
      .that.matches(/^guest-[a-z0-9]{6}$/)
      .and.does.not.include('Mgugfp');
  });

  it('chat.v1: negotiates the subprotocol with the Sec-WebSocket-Protocol header and stores room and name', async () => {
    // Prepare
    const event = loadEvent('connect-chat-v1');

    // Act
    const result = await handler(event, lambdaContext('connect'));

    // Assess
    expect(result).to.deep.equal({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'chat.v1' } });
    expect(stored()).to.deep.include({
      connectionId: { S: CALLER_ID },
      room: { S: 'general' },
      name: { S: 'alice' },
      protocol: { S: 'chat.v1' },
    });
  });

  it('answers chat.v1 when the client offers several subprotocols, in any header case', async () => {
    // Prepare
    const event = loadEvent('connect');
    event.headers = { ...event.headers, 'sec-websocket-protocol': 'chat.v2, chat.v1' };

    // Act
    const result = await handler(event, lambdaContext('connect'));

    // Assess
    expect(result).to.deep.equal({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'chat.v1' } });
  });

  it('trims the name', async () => {
    // Prepare
    const event = loadEvent('connect');
    event.queryStringParameters = { name: '  bob  ' };

    // Act
    await handler(event, lambdaContext('connect'));

    // Assess
    expect(stored()).to.deep.include({ name: { S: 'bob' }, room: { S: 'lobby' } });
  });

  it("tells the room's chat.v1 clients who joined: not plain clients, not the newcomer", async () => {
    // Prepare
    ddbMock.on(QueryCommand).resolves({
      Items: [
        connectionItem({ connectionId: CALLER_ID, room: 'general', name: 'alice', protocol: 'chat.v1' }),
        connectionItem({ connectionId: 'bob-1', room: 'general', name: 'bob', protocol: 'chat.v1' }),
        connectionItem({ connectionId: 'carol-1', room: 'general', name: 'carol', protocol: 'plain' }),
      ],
    });

    // Act
    await handler(loadEvent('connect-chat-v1'), lambdaContext('connect'));

    // Assess
    const presenceQuery = ddbMock.commandCalls(QueryCommand).find((call) => call.args[0].input.Select !== 'COUNT');
    expect(presenceQuery?.args[0].input.ExpressionAttributeValues?.[':room']).to.deep.equal({ S: 'general' });
    expect(apiMock.commandCalls(PostToConnectionCommand).map((c) => c.args[0].input.ConnectionId)).to.deep.equal(['bob-1']);
    expect(framesTo('bob-1')).to.deep.equal([{ type: 'presence', event: 'join', room: 'general', name: 'alice' }]);
  });

  it('stores the connection before telling the room', async () => {
    // Prepare
    ddbMock.on(QueryCommand).resolves({ Items: [connectionItem({ connectionId: 'bob-1', room: 'general', protocol: 'chat.v1' })] });

    // Act
    await handler(loadEvent('connect-chat-v1'), lambdaContext('connect'));

    // Assess
    const put = ddbMock.commandCalls(PutItemCommand)[0];
    const post = apiMock.commandCalls(PostToConnectionCommand)[0];
    expect(put && post && put.calledBefore(post)).to.equal(true);
  });

  it('still accepts when a room member is gone, and removes that member', async () => {
    // Prepare
    ddbMock.on(QueryCommand).resolves({ Items: [connectionItem({ connectionId: 'stale-1', room: 'general', protocol: 'chat.v1' })] });
    apiMock.on(PostToConnectionCommand).rejects(new GoneException({ message: 'Gone', $metadata: {} }));

    // Act
    const result = await handler(loadEvent('connect-chat-v1'), lambdaContext('connect'));

    // Assess
    expect(result.statusCode).to.equal(200);
    const deletes = ddbMock.commandCalls(BatchWriteItemCommand)[0]?.args[0].input.RequestItems?.['connections-table'];
    expect(deletes).to.deep.equal([{ DeleteRequest: { Key: { connectionId: { S: 'stale-1' } } } }]);
  });

  for (const [label, query, body] of [
    ['an invalid room', { room: 'no spaces' }, 'room must be 1-64 characters of A-Z, a-z, 0-9, _ or -'],
    ['an empty room', { room: '' }, 'room must be 1-64 characters of A-Z, a-z, 0-9, _ or -'],
    ['a room of 65 characters', { room: 'r'.repeat(65) }, 'room must be 1-64 characters of A-Z, a-z, 0-9, _ or -'],
    ['a blank name', { name: '   ' }, 'name must be 1-32 characters after trimming'],
    ['a name of 33 characters', { name: 'n'.repeat(33) }, 'name must be 1-32 characters after trimming'],
    ['a name with a control character', { name: 'eve\u001b[2J' }, 'name must not contain control characters'],
  ] as const) {
    it(`refuses ${label} with 400 and says why, storing nothing`, async () => {
      // Prepare
      const event = loadEvent('connect');
      event.queryStringParameters = { ...query };

      // Act
      const result = await handler(event, lambdaContext('connect'));

      // Assess
      expect(result).to.deep.equal({ statusCode: 400, body });
      expect(ddbMock.calls()).to.have.length(0);
      expect(apiMock.calls()).to.have.length(0);
    });
  }

  it('refuses a client that offers only subprotocols it does not speak (400), storing nothing', async () => {
    // Prepare
    const event = loadEvent('connect-chat-v1');
    event.headers = { ...event.headers, 'Sec-WebSocket-Protocol': 'mqtt' };

    // Act
    const result = await handler(event, lambdaContext('connect'));

    // Assess
    expect(result).to.deep.equal({ statusCode: 400, body: 'unsupported subprotocol; this API speaks chat.v1' });
    expect(ddbMock.calls()).to.have.length(0);
  });

  it('rethrows a DynamoDB failure (API Gateway refuses with 500), with no 400 and no detail', async () => {
    // Prepare
    const failure = new Error('ResourceNotFoundException: Requested resource not found');
    ddbMock.on(PutItemCommand).rejects(failure);

    // Act
    const error = await expectRejection(handler(loadEvent('connect'), lambdaContext('connect')));

    // Assess
    expect(error.message).to.equal('ResourceNotFoundException: Requested resource not found');
    expect(apiMock.calls()).to.have.length(0);
  });
  describe('limits', () => {
    const conditionFailed = (): ConditionalCheckFailedException =>
      new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

    it('counts the connect against its source IP, in the rate-limits table, before storing anything', async () => {
      // Act
      await handler(loadEvent('connect'), lambdaContext('connect'));

      // Assess
      const update = ddbMock.commandCalls(UpdateItemCommand)[0]?.args[0].input;
      expect(update).to.deep.include({ TableName: 'rate-limits-table', Key: { bucket: { S: 'connect#ip#192.0.2.1' } } });
      expect(update?.UpdateExpression, 'the bucket item expires (TTL)').to.include('expiresAt = :expiresAt');
    });

    it('refuses a connect over the limit with 429 and says why, storing and announcing nothing', async () => {
      // Prepare
      ddbMock.on(UpdateItemCommand).rejects(conditionFailed());

      // Act
      const result = await handler(loadEvent('connect-chat-v1'), lambdaContext('connect'));

      // Assess
      expect(result).to.deep.equal({ statusCode: 429, body: 'more than 30 connects in 10 seconds from your address; wait a moment' });
      expect(ddbMock.commandCalls(PutItemCommand)).to.have.length(0);
      expect(apiMock.commandCalls(PostToConnectionCommand)).to.have.length(0);
    });

    it('counts a signed-in connect against its user id', async () => {
      // Prepare
      const event = authorized(loadEvent('connect'), { userId: 'u-9', name: 'ann' });

      // Act
      await handler(event, lambdaContext('connect'));

      // Assess
      expect(ddbMock.commandCalls(UpdateItemCommand)[0]?.args[0].input.Key).to.deep.equal({ bucket: { S: 'connect#user#u-9' } });
    });

    it('refuses a full room (MAX_ROOM_SIZE live connections) with 403 room_full, storing and announcing nothing', async () => {
      // Prepare: the count reaches the limit
      ddbMock.on(QueryCommand, { Select: 'COUNT' }).resolves({ Count: 5000 });

      // Act
      const result = await handler(loadEvent('connect-chat-v1'), lambdaContext('connect'));

      // Assess
      expect(result).to.deep.equal({ statusCode: 403, body: 'room general is full (5000 connections); try again later' });
      expect(ddbMock.commandCalls(PutItemCommand)).to.have.length(0);
      expect(apiMock.commandCalls(PostToConnectionCommand)).to.have.length(0);
    });

    it('counts the room from its index, no further than the limit, leaving out ghosts past 2 hours', async () => {
      // Prepare: two pages, 4999 live connections in all
      ddbMock
        .on(QueryCommand, { Select: 'COUNT' })
        .resolvesOnce({ Count: 3000, LastEvaluatedKey: { room: { S: 'general' }, connectionId: { S: 'k' } } })
        .resolvesOnce({ Count: 1999 });

      // Act
      const before = Date.now();
      const result = await handler(loadEvent('connect-chat-v1'), lambdaContext('connect'));

      // Assess
      expect(result.statusCode).to.equal(200);
      const counts = ddbMock.commandCalls(QueryCommand, { Select: 'COUNT' }).map((call) => call.args[0].input);
      expect(
        counts.map((input) => input.Limit),
        'reads no further than the limit',
      ).to.deep.equal([5000, 2000]);
      expect(counts[1]?.ExclusiveStartKey).to.deep.equal({ room: { S: 'general' }, connectionId: { S: 'k' } });
      expect(counts[0]).to.deep.include({ IndexName: 'byRoom', FilterExpression: 'connectedAt > :since' });
      expect(Number(counts[0]?.ExpressionAttributeValues?.[':since']?.N)).to.be.within(before - 7_200_000 - 1000, Date.now() - 7_200_000);
    });
  });

  describe("with auth on (AuthMode cognito or oidc: the authorizer's identity in requestContext.authorizer)", () => {
    const alice = { userId: 'user-alice-1', name: 'Alice Liddell' };

    it('takes the name from the token, ignoring ?name=, and stores the user id', async () => {
      // Prepare
      const event = authorized(loadEvent('connect-chat-v1'), alice);

      // Act
      const result = await handler(event, lambdaContext('connect'));

      // Assess
      expect(result).to.deep.equal({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'chat.v1' } });
      expect(event.queryStringParameters?.name).to.equal('alice');
      expect(stored()).to.deep.include({
        connectionId: { S: CALLER_ID },
        room: { S: 'general' },
        name: { S: 'Alice Liddell' },
        userId: { S: 'user-alice-1' },
      });
    });

    it('tells the room who joined with the user id', async () => {
      // Prepare
      ddbMock
        .on(QueryCommand)
        .resolves({ Items: [connectionItem({ connectionId: 'bob-1', room: 'general', name: 'bob', protocol: 'chat.v1' })] });

      // Act
      await handler(authorized(loadEvent('connect-chat-v1'), alice), lambdaContext('connect'));

      // Assess
      expect(framesTo('bob-1')).to.deep.equal([
        { type: 'presence', event: 'join', room: 'general', name: 'Alice Liddell', userId: 'user-alice-1' },
      ]);
    });

    it('answers only chat.v1 to a browser that offers its token as a token.<jwt> subprotocol', async () => {
      // Prepare
      const event = authorized(loadEvent('connect-chat-v1'), alice);
      event.headers = { ...event.headers, 'Sec-WebSocket-Protocol': 'chat.v1, token.eyJhbGciOiJSUzI1NiJ9.e30.c2ln' };

      // Act
      const result = await handler(event, lambdaContext('connect'));

      // Assess
      expect(result).to.deep.equal({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'chat.v1' } });
    });

    it('lets a token that lists rooms into those rooms', async () => {
      // Act
      const result = await handler(
        authorized(loadEvent('connect-chat-v1'), { ...alice, rooms: ['ops', 'general'] }),
        lambdaContext('connect'),
      );

      // Assess
      expect(result.statusCode).to.equal(200);
      expect(stored()).to.deep.include({ room: { S: 'general' } });
    });

    it('refuses a person banned from the room with 403 and the reason, storing and announcing nothing', async () => {
      // Prepare: a ban until 2100 in the messages table, under the room's ban key
      const until = Math.floor(Date.UTC(2100, 0, 1) / 1000);
      ddbMock
        .on(GetItemCommand, { TableName: 'messages-table', Key: { room: { S: 'ban#general' }, id: { S: 'user-alice-1' } } })
        .resolves({ Item: { room: { S: 'ban#general' }, id: { S: 'user-alice-1' }, until: { N: String(until) } } });

      // Act
      const result = await handler(authorized(loadEvent('connect-chat-v1'), alice), lambdaContext('connect'));

      // Assess
      expect(result).to.deep.equal({
        statusCode: 403,
        body: 'you are banned from room general by a moderator until 2100-01-01T00:00:00.000Z',
      });
      expect(ddbMock.commandCalls(PutItemCommand)).to.have.length(0);
      expect(apiMock.calls()).to.have.length(0);
    });

    it('lets a person in again once the ban has ended (TTL deletes lazily), and reads bans consistently', async () => {
      // Prepare
      ddbMock.on(GetItemCommand, { TableName: 'messages-table' }).resolves({ Item: { until: { N: '1000' } } });

      // Act
      const result = await handler(authorized(loadEvent('connect-chat-v1'), alice), lambdaContext('connect'));

      // Assess
      expect(result.statusCode).to.equal(200);
      expect(ddbMock.commandCalls(GetItemCommand, { TableName: 'messages-table' })[0]?.args[0].input.ConsistentRead).to.equal(true);
    });

    it('refuses a room the token does not list with 403, storing nothing', async () => {
      // Act
      const result = await handler(authorized(loadEvent('connect-chat-v1'), { ...alice, rooms: ['ops'] }), lambdaContext('connect'));

      // Assess
      expect(result).to.deep.equal({ statusCode: 403, body: 'your sign-in does not allow room general' });
      expect(ddbMock.calls()).to.have.length(0);
      expect(apiMock.calls()).to.have.length(0);
    });

    it("still refuses an invalid room with 400 before looking at the token's rooms", async () => {
      // Prepare
      const event = authorized(loadEvent('connect'), { ...alice, rooms: ['ops'] });
      event.queryStringParameters = { room: 'no spaces' };

      // Act
      const result = await handler(event, lambdaContext('connect'));

      // Assess
      expect(result.statusCode).to.equal(400);
    });

    it("fits a token's name to the name rules instead of refusing it: controls dropped, 32 characters", async () => {
      // Prepare
      const event = authorized(loadEvent('connect'), { userId: 'u-2', name: `  \u202eeve\u0007 ${'x'.repeat(40)}` });

      // Act
      await handler(event, lambdaContext('connect'));

      // Assess
      expect(stored()?.name).to.deep.equal({ S: `eve ${'x'.repeat(28)}` });
    });

    it('rethrows (500) an authorizer context that does not hold an identity: a deployment fault', async () => {
      // Prepare
      const event = loadEvent('connect');
      event.requestContext.authorizer = { principalId: 'someone' };

      // Act
      const error = await expectRejection(handler(event, lambdaContext('connect')));

      // Assess
      expect(error.message).to.match(/requestContext\.authorizer does not hold the identity/);
      expect(ddbMock.calls()).to.have.length(0);
    });
  });
});
