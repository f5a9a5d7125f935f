import {
  ApiGatewayManagementApiServiceException,
  GoneException,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { config } from 'chat-core';
import { type Shard } from '../../../layers/chat-core/src/delivery/shards';
import sinon from 'sinon';
import {
  BatchWriteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import { handler } from '../../../functions/sendmessage';
import {
  CALLER_ID,
  type ConnectionFields,
  authorized,
  type Item,
  apiMock,
  conditionFailed,
  connectionItem,
  connectionItems,
  ddbMock,
  deferred,
  expectRejection,
  flush,
  framesTo,
  lambdaContext,
  loadEvent,
  posts,
  resetMocks,
  sqsMock,
} from '../helpers';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** The sender, as the rate-limit UpdateItem returns it (ALL_NEW). */
function sender(fields: Partial<ConnectionFields> = {}): void {
  ddbMock
    .on(UpdateItemCommand, { TableName: 'connections-table' })
    .resolves({ Attributes: connectionItem({ connectionId: CALLER_ID, name: 'alice', ...fields }) });
  ddbMock.on(GetItemCommand).resolves({ Item: connectionItem({ connectionId: CALLER_ID, name: 'alice', ...fields }) });
}

/** The room index answers with these pages in order (the paginator reuses its input, so keys are copied as sent). */
function roomPages(...pages: Item[][]): unknown[] {
  const starts: unknown[] = [];
  ddbMock.on(QueryCommand).callsFake((input: QueryCommandInput) => {
    const index = starts.length;
    starts.push(structuredClone(input.ExclusiveStartKey));
    const last = index >= pages.length - 1;
    return {
      Items: pages[index] ?? [],
      ...(last ? {} : { LastEvaluatedKey: { room: { S: 'lobby' }, connectionId: { S: `key-${index}` } } }),
    };
  });
  return starts;
}

function withMessage(message: string): ReturnType<typeof loadEvent> {
  const event = loadEvent('sendmessage');
  event.body = JSON.stringify({ action: 'sendmessage', message });
  return event;
}

describe('function: sendmessage', () => {
  beforeEach(() => {
    resetMocks();
    ddbMock.on(PutItemCommand).resolves({});
    ddbMock.on(UpdateItemCommand, { TableName: 'messages-table' }).resolves({}); // the room's head (chain.ts): a room's first message
    ddbMock.on(BatchWriteItemCommand).resolves({});
    apiMock.on(PostToConnectionCommand).resolves({});
  });

  it('tutorial: posts the raw text "hello, everyone!" to every other connection, the plain sender excluded', async () => {
    // Prepare
    sender();
    roomPages([connectionItem({ connectionId: CALLER_ID, name: 'alice' }), ...connectionItems(3, 'other-')]);

    // Act
    const result = await handler(loadEvent('sendmessage'), lambdaContext('sendmessage'));

    // Assess
    expect(result).to.deep.equal({ statusCode: 200 });
    expect(posts()).to.deep.equal([
      { to: 'other-0', text: 'hello, everyone!' },
      { to: 'other-1', text: 'hello, everyone!' },
      { to: 'other-2', text: 'hello, everyone!' },
    ]);
  });

  it('a chat.v1 sender receives its own message as JSON (its confirmation); plain members the raw text', async () => {
    // Prepare
    sender({ protocol: 'chat.v1' });
    roomPages([
      connectionItem({ connectionId: CALLER_ID, name: 'alice', protocol: 'chat.v1' }),
      connectionItem({ connectionId: 'bob-1', name: 'bob', protocol: 'chat.v1' }),
      connectionItem({ connectionId: 'carol-1', name: 'carol', protocol: 'plain' }),
    ]);

    // Act
    await handler(loadEvent('sendmessage'), lambdaContext('sendmessage'));

    // Assess
    const [own] = framesTo(CALLER_ID);
    expect(own).to.deep.include({ type: 'message', room: 'lobby', name: 'alice', text: 'hello, everyone!' });
    expect(own?.id).to.match(ULID);
    expect(new Date(String(own?.sentAt)).toISOString()).to.equal(own?.sentAt);
    expect(framesTo('bob-1')).to.deep.equal([own]);
    expect(posts().filter((p) => p.to === 'carol-1')).to.deep.equal([{ to: 'carol-1', text: 'hello, everyone!' }]);
    expect(posts()).to.have.length(3);
  });

  it('stores the message (with the id it is sent with) before anyone receives it', async () => {
    // Prepare
    sender({ protocol: 'chat.v1', room: 'dev' });
    roomPages([connectionItem({ connectionId: CALLER_ID, room: 'dev', name: 'alice', protocol: 'chat.v1' })]);

    // Act
    await handler(loadEvent('sendmessage'), lambdaContext('sendmessage'));

    // Assess
    const put = ddbMock.commandCalls(PutItemCommand)[0];
    const post = apiMock.commandCalls(PostToConnectionCommand)[0];
    expect(put?.args[0].input.TableName).to.equal('messages-table');
    expect(put?.args[0].input.Item).to.deep.include({
      room: { S: 'dev' },
      name: { S: 'alice' },
      text: { S: 'hello, everyone!' },
      connectionId: { S: CALLER_ID },
    });
    expect(put && post && put.calledBefore(post)).to.equal(true);
    expect(framesTo(CALLER_ID)[0]?.id).to.equal(put?.args[0].input.Item?.id?.S);
  });

  it('reads the room while the message is stored, and posts only once the write has succeeded', async () => {
    // Prepare: the PutItem stays pending until the test lets it go
    sender({ protocol: 'chat.v1', room: 'dev' });
    roomPages(connectionItems(3, 'm', { room: 'dev', protocol: 'chat.v1' }));
    const write = deferred<Record<string, never>>();
    ddbMock.on(PutItemCommand).callsFake(() => write.promise);

    // Act
    const done = handler(loadEvent('sendmessage'), lambdaContext('sendmessage'));
    for (let i = 0; i < 5; i += 1) await flush();
    const queriedBeforeStored = ddbMock.commandCalls(QueryCommand).length;
    const postedBeforeStored = apiMock.commandCalls(PostToConnectionCommand).length;
    write.resolve({});
    await done;

    // Assess
    expect(queriedBeforeStored).to.equal(1);
    expect(postedBeforeStored).to.equal(0);
    expect(
      posts()
        .map((p) => p.to)
        .sort(),
    ).to.deep.equal([CALLER_ID, 'm0', 'm1', 'm2'].sort());
  });

  it('confirms to a chat.v1 sender only after every post to the room has settled', async () => {
    // Prepare: the room's posts stay pending until the test lets them go
    sender({ protocol: 'chat.v1', room: 'dev' });
    roomPages([
      ...connectionItems(3, 'm', { room: 'dev', protocol: 'chat.v1' }),
      connectionItem({ connectionId: CALLER_ID, room: 'dev', protocol: 'chat.v1' }),
    ]);
    const delivery = deferred<Record<string, never>>();
    apiMock.on(PostToConnectionCommand).callsFake(() => delivery.promise);

    // Act
    const done = handler(loadEvent('sendmessage'), lambdaContext('sendmessage'));
    for (let i = 0; i < 10; i += 1) await flush();
    const whilePending = apiMock.commandCalls(PostToConnectionCommand).map((call) => call.args[0].input.ConnectionId);
    delivery.resolve({});
    await done;

    // Assess
    expect(whilePending.sort()).to.deep.equal(['m0', 'm1', 'm2']);
    const order = apiMock.commandCalls(PostToConnectionCommand).map((call) => call.args[0].input.ConnectionId);
    expect(order).to.have.length(4);
    expect(order[3]).to.equal(CALLER_ID);
  });

  it('posts nothing when the message cannot be stored', async () => {
    // Prepare
    sender({ protocol: 'chat.v1', room: 'dev' });
    roomPages(connectionItems(3, 'm', { room: 'dev', protocol: 'chat.v1' }));
    ddbMock.on(PutItemCommand).rejects(new Error('InternalServerError'));

    // Act
    const error = await expectRejection(handler(loadEvent('sendmessage'), lambdaContext('sendmessage')));

    // Assess
    expect(error.message).to.equal('InternalServerError');
    expect(posts()).to.deep.equal([]);
  });

  it("sends to the sender's room only (rooms are isolated)", async () => {
    // Prepare
    sender({ room: 'dev' });
    roomPages([]);

    // Act
    await handler(loadEvent('sendmessage'), lambdaContext('sendmessage'));

    // Assess
    const input = ddbMock.commandCalls(QueryCommand)[0]?.args[0].input;
    expect(input?.IndexName).to.equal('byRoom');
    expect(input?.ExpressionAttributeValues?.[':room']).to.deep.equal({ S: 'dev' });
  });

  it('reaches the connections of every page of the room (LastEvaluatedKey followed)', async () => {
    // Prepare
    sender();
    const starts = roomPages(connectionItems(3, 'a'), connectionItems(3, 'b'), connectionItems(2, 'c'));

    // Act
    await handler(loadEvent('sendmessage'), lambdaContext('sendmessage'));

    // Assess
    expect(starts).to.deep.equal([
      undefined,
      { room: { S: 'lobby' }, connectionId: { S: 'key-0' } },
      { room: { S: 'lobby' }, connectionId: { S: 'key-1' } },
    ]);
    expect(
      posts()
        .map((p) => p.to)
        .sort(),
    ).to.deep.equal(['a0', 'a1', 'a2', 'b0', 'b1', 'b2', 'c0', 'c1']);
  });

  it("a 410 GoneException (the SDK's class) deletes exactly the stale connections in one BatchWriteItem", async () => {
    // Prepare
    sender();
    roomPages(connectionItems(5, 'a'), connectionItems(5, 'b'));
    for (const stale of ['a1', 'b3']) {
      apiMock.on(PostToConnectionCommand, { ConnectionId: stale }).rejects(new GoneException({ message: 'Gone', $metadata: {} }));
    }

    // Act
    const result = await handler(loadEvent('sendmessage'), lambdaContext('sendmessage'));

    // Assess
    expect(result).to.deep.equal({ statusCode: 200 });
    const batches = ddbMock.commandCalls(BatchWriteItemCommand);
    expect(batches).to.have.length(1);
    const keys = batches[0]?.args[0].input.RequestItems?.['connections-table']?.map((r) => r.DeleteRequest?.Key);
    expect(keys).to.have.deep.members([{ connectionId: { S: 'a1' } }, { connectionId: { S: 'b3' } }]);
    expect(keys).to.have.length(2);
  });

  it("one failing recipient (500) among many does not stop the others, nor the sender's success", async () => {
    // Prepare
    sender();
    roomPages(connectionItems(20));
    apiMock.on(PostToConnectionCommand, { ConnectionId: 'conn-7' }).rejects(
      new ApiGatewayManagementApiServiceException({
        name: 'InternalServerError',
        $fault: 'server',
        message: 'Internal server error',
        $metadata: { httpStatusCode: 500 },
      }),
    );

    // Act
    const result = await handler(loadEvent('sendmessage'), lambdaContext('sendmessage'));

    // Assess
    expect(result).to.deep.equal({ statusCode: 200 });
    expect(apiMock.commandCalls(PostToConnectionCommand)).to.have.length(20);
    expect(ddbMock.commandCalls(BatchWriteItemCommand)).to.have.length(0);
  });

  it('accepts a multibyte message of exactly MAX_MESSAGE_BYTES (4096) bytes', async () => {
    // Prepare: 1024 four-byte characters
    sender();
    roomPages(connectionItems(1));
    const text = '😀'.repeat(1024);

    // Act
    await handler(withMessage(text), lambdaContext('sendmessage'));

    // Assess
    expect(posts()).to.deep.equal([{ to: 'conn-0', text }]);
  });

  it('refuses one byte more with message_too_long, storing and sending nothing else', async () => {
    // Prepare
    sender({ protocol: 'chat.v1' });
    roomPages(connectionItems(3));
    const text = `${'😀'.repeat(1023)}€ab`; // 4092 + 3 + 2 = 4097 bytes

    // Act
    const result = await handler(withMessage(text), lambdaContext('sendmessage'));

    // Assess
    expect(result).to.deep.equal({ statusCode: 200 });
    expect(posts().map((p) => p.to)).to.deep.equal([CALLER_ID]);
    expect(framesTo(CALLER_ID)).to.deep.equal([
      { type: 'error', code: 'message_too_long', message: 'message is 4097 bytes; the limit is 4096 UTF-8 bytes' },
    ]);
    expect(ddbMock.commandCalls(PutItemCommand)).to.have.length(0);
    expect(ddbMock.commandCalls(QueryCommand)).to.have.length(0);
  });

  it('answers malformed JSON and wrong types with an error, to the sender only', async () => {
    // Prepare
    sender();
    roomPages(connectionItems(3));
    const malformed = loadEvent('sendmessage');
    malformed.body = '{"action":"sendmessage","message":';
    const wrongType = loadEvent('sendmessage');
    wrongType.body = '{"action":"sendmessage","message":["hello"]}';

    // Act
    await handler(malformed, lambdaContext('sendmessage'));
    await handler(wrongType, lambdaContext('sendmessage'));

    // Assess
    expect(posts()).to.deep.equal([
      { to: CALLER_ID, text: 'Error: the frame is not valid JSON' },
      { to: CALLER_ID, text: 'Error: message: message must be a string' },
    ]);
    expect(ddbMock.commandCalls(PutItemCommand)).to.have.length(0);
  });

  it('neutralizes control characters before storing and sending', async () => {
    // Prepare
    sender();
    roomPages(connectionItems(1));

    // Act
    await handler(withMessage('hi\u001b[2J there'), lambdaContext('sendmessage'));

    // Assess
    expect(posts()).to.deep.equal([{ to: 'conn-0', text: 'hi\ufffd[2J there' }]);
    expect(ddbMock.commandCalls(PutItemCommand)[0]?.args[0].input.Item?.text).to.deep.equal({ S: 'hi\ufffd[2J there' });
  });

  it('a sender over the rate limit gets rate_limited and nothing is stored or sent', async () => {
    // Prepare: the connection's bucket (its item) is empty
    sender({ protocol: 'chat.v1' });
    ddbMock.on(UpdateItemCommand, { TableName: 'connections-table' }).rejects(conditionFailed());
    roomPages(connectionItems(3));

    // Act
    await handler(loadEvent('sendmessage'), lambdaContext('sendmessage'));

    // Assess
    expect(framesTo(CALLER_ID)).to.deep.equal([
      { type: 'error', code: 'rate_limited', message: 'more than 20 messages in 10 seconds from this connection; wait a moment' },
    ]);
    expect(posts()).to.have.length(1);
    expect(ddbMock.commandCalls(PutItemCommand)).to.have.length(0);
  });

  it('a sender whose address is over the identity limit (all its connections together) gets rate_limited; nothing is stored or sent', async () => {
    // Prepare: the connection's own bucket has tokens, the source IP's is empty
    sender({ protocol: 'chat.v1' });
    ddbMock.on(UpdateItemCommand, { TableName: 'rate-limits-table' }).rejects(conditionFailed());
    roomPages(connectionItems(3));

    // Act
    await handler(loadEvent('sendmessage'), lambdaContext('sendmessage'));

    // Assess
    expect(framesTo(CALLER_ID)).to.deep.equal([
      { type: 'error', code: 'rate_limited', message: 'more than 100 messages in 10 seconds from your address; wait a moment' },
    ]);
    expect(posts()).to.have.length(1);
    expect(ddbMock.commandCalls(PutItemCommand)).to.have.length(0);
    const buckets = ddbMock.commandCalls(UpdateItemCommand, { TableName: 'rate-limits-table' }).map((call) => call.args[0].input.Key);
    expect(buckets[0], "the bucket of the event's source IP").to.deep.equal({ bucket: { S: 'message#ip#192.0.2.1' } });
  });

  it('counts a signed-in sender against its user id, not its address', async () => {
    // Prepare
    sender({ protocol: 'chat.v1', userId: 'user-1' });
    roomPages(connectionItems(1));
    const event = authorized(loadEvent('sendmessage'), { userId: 'user-1', name: 'alice' });

    // Act
    await handler(event, lambdaContext('sendmessage'));

    // Assess
    const buckets = ddbMock.commandCalls(UpdateItemCommand, { TableName: 'rate-limits-table' }).map((call) => call.args[0].input.Key);
    expect(buckets).to.deep.equal([{ bucket: { S: 'message#user#user-1' } }]);
  });

  it('an unregistered sender gets not_connected, as plain text', async () => {
    // Prepare
    ddbMock.on(UpdateItemCommand, { TableName: 'connections-table' }).rejects(conditionFailed());
    ddbMock.on(GetItemCommand).resolves({});

    // Act
    await handler(loadEvent('sendmessage'), lambdaContext('sendmessage'));

    // Assess
    expect(posts()).to.deep.equal([{ to: CALLER_ID, text: 'Error: this connection is not registered; reconnect' }]);
    expect(ddbMock.commandCalls(PutItemCommand)).to.have.length(0);
  });

  it('rethrows an unexpected failure, sending nobody anything (no stack reaches a client)', async () => {
    // Prepare
    sender();
    roomPages(connectionItems(3));
    const failure = new Error('InternalServerError');
    failure.stack = 'InternalServerError\n    at saveMessage (/opt/nodejs/node_modules/chat-core/index.js:1:1)';
    ddbMock.on(PutItemCommand).rejects(failure);

    // Act
    const error = await expectRejection(handler(loadEvent('sendmessage'), lambdaContext('sendmessage')));

    // Assess
    expect(error).to.equal(failure);
    expect(apiMock.calls()).to.have.length(0);
  });
  describe('idempotent sends (clientId), gaps and failed posts', () => {
    const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/fanout';
    const ORIGINAL_ID = '01HQ3Z9V5X8G2M4N6P7R8S0007';
    const recordKey = { room: { S: `client#lobby#connection:${CALLER_ID}` }, id: { S: 'm-1' } };
    const throttled = (): LimitExceededException =>
      new LimitExceededException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } });

    function withClientId(clientId: unknown, message = 'hello, everyone!'): ReturnType<typeof loadEvent> {
      const event = loadEvent('sendmessage');
      event.body = JSON.stringify({ action: 'sendmessage', message, clientId });
      return event;
    }

    /** Redelivery shards queued: [recipient ids, frame id, clientId on the frame]. */
    const redeliveries = (): [string[], unknown, unknown][] =>
      sqsMock
        .commandCalls(SendMessageBatchCommand)
        .flatMap((call) => call.args[0].input.Entries ?? [])
        .map((entry) => JSON.parse(entry.MessageBody ?? '') as Shard)
        .map((shard) => [
          shard.recipients.map(([id]) => id),
          (shard.frame as { id?: string }).id,
          (shard.frame as { clientId?: string }).clientId,
        ]);

    beforeEach(() => {
      sinon.define(config, 'FANOUT_QUEUE_URL', QUEUE_URL);
      sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    });

    afterEach(() => {
      sinon.restore();
    });

    it('names the message before it in the room (prevId) in every frame, and echoes the clientId to the sender only', async () => {
      // Prepare
      sender({ protocol: 'chat.v1' });
      roomPages([connectionItem({ connectionId: 'bob-1', name: 'bob', protocol: 'chat.v1' })]);
      ddbMock.on(UpdateItemCommand, { TableName: 'messages-table' }).resolves({ Attributes: { lastId: { S: ORIGINAL_ID } } });

      // Act
      await handler(withClientId('m-1'), lambdaContext('sendmessage'));

      // Assess
      const [toBob] = framesTo('bob-1');
      expect(toBob).to.deep.include({ type: 'message', prevId: ORIGINAL_ID });
      expect(toBob).to.not.have.property('clientId');
      expect(framesTo(CALLER_ID)).to.deep.equal([{ ...toBob, clientId: 'm-1' }]);
    });

    it('a repeated clientId stores nothing, posts to nobody else, and confirms with the original message', async () => {
      // Prepare
      sender({ protocol: 'chat.v1' });
      roomPages([connectionItem({ connectionId: 'bob-1', name: 'bob', protocol: 'chat.v1' })]);
      const original: Item = {
        room: { S: 'lobby' },
        id: { S: ORIGINAL_ID },
        name: { S: 'alice' },
        text: { S: 'hello, everyone!' },
        sentAt: { S: '2022-01-25T18:50:07.642Z' },
      };
      ddbMock.on(GetItemCommand, { Key: recordKey }).resolves({
        Item: { ...recordKey, messageId: { S: ORIGINAL_ID }, sentAt: original.sentAt as never, expiresAt: { N: '4102444800' } },
      });
      ddbMock.on(GetItemCommand, { Key: { room: { S: 'lobby' }, id: { S: ORIGINAL_ID } } }).resolves({ Item: original });

      // Act
      const result = await handler(withClientId('m-1'), lambdaContext('sendmessage'));

      // Assess
      expect(result).to.deep.equal({ statusCode: 200 });
      expect(ddbMock.commandCalls(PutItemCommand), 'nothing stored').to.have.length(0);
      expect(
        posts().map((p) => p.to),
        'only the sender hears of it',
      ).to.deep.equal([CALLER_ID]);
      expect(framesTo(CALLER_ID)).to.deep.equal([
        {
          type: 'message',
          id: ORIGINAL_ID,
          room: 'lobby',
          name: 'alice',
          text: 'hello, everyone!',
          sentAt: '2022-01-25T18:50:07.642Z',
          clientId: 'm-1',
        },
      ]);
    });

    for (const clientId of ['', 'has space', 'x'.repeat(65), 'émoji', 42]) {
      it(`refuses clientId ${JSON.stringify(clientId)} with invalid_request, storing and sending nothing else`, async () => {
        // Prepare
        sender({ protocol: 'chat.v1' });
        roomPages(connectionItems(2));

        // Act
        await handler(withClientId(clientId), lambdaContext('sendmessage'));

        // Assess
        expect(ddbMock.commandCalls(PutItemCommand)).to.have.length(0);
        expect(posts().map((p) => p.to)).to.deep.equal([CALLER_ID]);
        const [error] = framesTo(CALLER_ID);
        expect(error).to.deep.include({ type: 'error', code: 'invalid_request' });
        expect(String(error?.message)).to.match(/^clientId: /);
      });
    }

    it('a failed confirmation (429 after the SDK\'s retries) is no "Internal server error": it is redelivered through the queue', async () => {
      // Prepare
      sender({ protocol: 'chat.v1' });
      roomPages([connectionItem({ connectionId: 'bob-1', name: 'bob', protocol: 'chat.v1' })]);
      apiMock.on(PostToConnectionCommand, { ConnectionId: CALLER_ID }).rejects(throttled());

      // Act
      const result = await handler(withClientId('m-1'), lambdaContext('sendmessage'));

      // Assess
      expect(result).to.deep.equal({ statusCode: 200 });
      const stored = ddbMock
        .commandCalls(PutItemCommand)
        .map((c) => c.args[0].input.Item?.id?.S)
        .find((id) => id !== 'm-1');
      expect(redeliveries()).to.deep.equal([[[CALLER_ID], stored, 'm-1']]);
    });

    it('members whose posts fail for good are queued for a redelivery rather than only counted', async () => {
      // Prepare
      sender();
      roomPages(connectionItems(5));
      apiMock.on(PostToConnectionCommand, { ConnectionId: 'conn-2' }).rejects(throttled());
      apiMock.on(PostToConnectionCommand, { ConnectionId: 'conn-4' }).rejects(throttled());

      // Act
      const result = await handler(loadEvent('sendmessage'), lambdaContext('sendmessage'));

      // Assess
      expect(result).to.deep.equal({ statusCode: 200 });
      const stored = ddbMock.commandCalls(PutItemCommand)[0]?.args[0].input.Item?.id?.S;
      expect(redeliveries()).to.deep.equal([[['conn-2', 'conn-4'], stored, undefined]]);
    });

    it('a room served through the queue: the shards carry whom to confirm to (and the clientId); sendmessage confirms nothing itself', async () => {
      // Prepare: 5 other members over a threshold of 2, in shards of 2
      sinon.replace(config, 'FANOUT_THRESHOLD', 2);
      sinon.replace(config, 'FANOUT_SHARD_SIZE', 2);
      sender({ protocol: 'chat.v1' });
      roomPages(connectionItems(5));
      ddbMock.on(UpdateItemCommand, { TableName: 'connections-table', Key: { connectionId: { S: CALLER_ID } } }).resolves({
        Attributes: connectionItem({ connectionId: CALLER_ID, name: 'alice', protocol: 'chat.v1' }),
      });

      // Act
      const result = await handler(withClientId('m-1'), lambdaContext('sendmessage'));

      // Assess
      expect(result).to.deep.equal({ statusCode: 200 });
      expect(posts(), 'no post, no confirmation yet').to.deep.equal([]);
      const shards = sqsMock
        .commandCalls(SendMessageBatchCommand)
        .flatMap((call) => call.args[0].input.Entries ?? [])
        .map((e) => JSON.parse(e.MessageBody ?? '') as Shard);
      expect(shards.map((shard) => shard.confirm)).to.deep.equal(
        Array(3).fill({ connectionId: CALLER_ID, protocol: 'chat.v1', clientId: 'm-1' }),
      );
      const counted = ddbMock
        .commandCalls(UpdateItemCommand)
        .map((c) => c.args[0].input)
        .filter((input) => String(input.Key?.connectionId?.S).startsWith('confirm#'));
      expect(counted.map((input) => input.ExpressionAttributeValues?.[':change'])).to.deep.equal([{ N: '4' }, { N: '-1' }]);
    });

    it('a plain sender in a room served through the queue: nothing to confirm, nothing counted', async () => {
      // Prepare
      sinon.replace(config, 'FANOUT_THRESHOLD', 2);
      sender();
      roomPages(connectionItems(5));

      // Act
      await handler(loadEvent('sendmessage'), lambdaContext('sendmessage'));

      // Assess
      const shards = sqsMock
        .commandCalls(SendMessageBatchCommand)
        .flatMap((call) => call.args[0].input.Entries ?? [])
        .map((e) => JSON.parse(e.MessageBody ?? '') as Shard);
      expect(shards.length).to.be.greaterThan(0);
      expect(shards.every((shard) => shard.confirm === undefined)).to.equal(true);
      expect(
        ddbMock.commandCalls(UpdateItemCommand).filter((c) => String(c.args[0].input.Key?.connectionId?.S).startsWith('confirm#')),
      ).to.have.length(0);
    });

    it('once the message is stored, a failing fan-out still confirms it to the sender', async () => {
      // Prepare
      sender({ protocol: 'chat.v1' });
      ddbMock.on(QueryCommand).rejects(new Error('ServiceUnavailable'));

      // Act
      const result = await handler(loadEvent('sendmessage'), lambdaContext('sendmessage'));

      // Assess
      expect(result).to.deep.equal({ statusCode: 200 });
      expect(framesTo(CALLER_ID)).to.have.length(1);
      expect(framesTo(CALLER_ID)[0]).to.deep.include({ type: 'message', text: 'hello, everyone!' });
    });
  });

  describe('a sender this sandbox served before (its room known)', () => {
    const headClaims = () =>
      ddbMock.commandCalls(UpdateItemCommand, {
        TableName: 'messages-table',
        UpdateExpression: 'SET lastId = :id, expiresAt = :expiresAt',
      });
    const headReleases = () =>
      ddbMock.commandCalls(UpdateItemCommand, { TableName: 'messages-table', ConditionExpression: 'lastId = :id' });

    /** One send served, so the sandbox knows the sender's room; the mocks' history is then cleared. */
    async function servedOnce(fields: Partial<ConnectionFields> = {}): Promise<void> {
      sender({ protocol: 'chat.v1', room: 'dev', ...fields });
      roomPages([]);
      await handler(loadEvent('sendmessage'), lambdaContext('sendmessage'));
      ddbMock.resetHistory();
      apiMock.resetHistory();
    }

    it("takes the message's place in the room while the rate limits are written, not after", async () => {
      // Prepare: the connection's rate-limit write stays pending until the test lets it go
      await servedOnce();
      const limit = deferred<{ Attributes: Item }>();
      ddbMock.on(UpdateItemCommand, { TableName: 'connections-table' }).callsFake(() => limit.promise);

      // Act
      const done = handler(loadEvent('sendmessage'), lambdaContext('sendmessage'));
      for (let i = 0; i < 5; i += 1) await flush();
      const claimedWhileLimited = headClaims().length;
      const storedWhileLimited = ddbMock.commandCalls(PutItemCommand).length;
      limit.resolve({ Attributes: connectionItem({ connectionId: CALLER_ID, name: 'alice', room: 'dev', protocol: 'chat.v1' }) });
      await done;

      // Assess
      expect(claimedWhileLimited).to.equal(1);
      expect(headClaims()[0]?.args[0].input.Key).to.deep.equal({ room: { S: 'head#dev' }, id: { S: 'head' } });
      expect(storedWhileLimited).to.equal(0);
      const [own] = framesTo(CALLER_ID);
      expect(own).to.deep.include({ type: 'message', room: 'dev', name: 'alice' });
      expect(own?.id).to.equal(headClaims()[0]?.args[0].input.ExpressionAttributeValues?.[':id']?.S);
      expect(headClaims()).to.have.length(1);
    });

    it("looks its clientId up while the rate limits are written, once, keyed by the sender's subject when signed in", async () => {
      // Prepare: a signed-in sender, served once; its rate-limit write stays pending until the test lets it go
      await servedOnce({ userId: 'sub-7' });
      const limit = deferred<{ Attributes: Item }>();
      ddbMock.on(UpdateItemCommand, { TableName: 'connections-table' }).callsFake(() => limit.promise);
      ddbMock.on(GetItemCommand, { TableName: 'messages-table' }).resolves({});
      const event = loadEvent('sendmessage');
      event.body = JSON.stringify({ action: 'sendmessage', message: 'second', clientId: 'm-2' });
      const recordReads = () => ddbMock.commandCalls(GetItemCommand, { TableName: 'messages-table' });

      // Act
      const done = handler(event, lambdaContext('sendmessage'));
      for (let i = 0; i < 5; i += 1) await flush();
      const readWhileLimited = recordReads().map((call) => call.args[0].input.Key);
      limit.resolve({
        Attributes: connectionItem({ connectionId: CALLER_ID, name: 'alice', room: 'dev', protocol: 'chat.v1', userId: 'sub-7' }),
      });
      await done;

      // Assess
      expect(readWhileLimited).to.deep.equal([{ room: { S: 'client#dev#user:sub-7' }, id: { S: 'm-2' } }]);
      expect(recordReads(), 'the record read once, ahead').to.have.length(1);
      expect(framesTo(CALLER_ID)[0]).to.deep.include({ type: 'message', text: 'second', clientId: 'm-2' });
      expect(ddbMock.commandCalls(PutItemCommand), 'the record, then the message').to.have.length(2);
    });

    it('gives the place back when the sender is over the rate limit: nothing stored or sent', async () => {
      // Prepare
      await servedOnce();
      ddbMock.on(UpdateItemCommand, { TableName: 'connections-table' }).rejects(conditionFailed());
      ddbMock
        .on(UpdateItemCommand, { TableName: 'messages-table' })
        .resolves({ Attributes: { lastId: { S: '01HQ3Z9V5X8G2M4N6P7R8S0001' } } });

      // Act
      await handler(loadEvent('sendmessage'), lambdaContext('sendmessage'));

      // Assess
      expect(framesTo(CALLER_ID)[0]).to.include({ type: 'error', code: 'rate_limited' });
      expect(ddbMock.commandCalls(PutItemCommand)).to.have.length(0);
      expect(posts()).to.have.length(1);
      const release = headReleases()[0]?.args[0].input;
      expect(release?.ExpressionAttributeValues?.[':id']).to.deep.equal(headClaims()[0]?.args[0].input.ExpressionAttributeValues?.[':id']);
      expect(release?.ExpressionAttributeValues?.[':prevId']).to.deep.equal({ S: '01HQ3Z9V5X8G2M4N6P7R8S0001' });
    });

    it('takes no place for an invalid frame, which is still counted', async () => {
      // Prepare
      await servedOnce();

      // Act
      await handler(withMessage(''), lambdaContext('sendmessage'));

      // Assess
      expect(framesTo(CALLER_ID)[0]).to.include({ type: 'error', code: 'invalid_request' });
      expect(headClaims()).to.have.length(0);
      expect(ddbMock.commandCalls(UpdateItemCommand, { TableName: 'connections-table' })).to.have.length(1);
    });

    it('a repeated clientId gives its reserved place back and confirms the original', async () => {
      // Prepare: the clientId's record names a place already stored
      await servedOnce();
      const original = {
        room: { S: 'dev' },
        id: { S: '01HQ3Z9V5X8G2M4N6P7R8S0007' },
        name: { S: 'alice' },
        text: { S: 'first' },
        sentAt: { S: '2022-01-25T18:50:07.642Z' },
      };
      ddbMock.on(GetItemCommand, { TableName: 'messages-table' }).callsFake((input: { Key?: Item }) =>
        input.Key?.id?.S === original.id.S
          ? { Item: original }
          : {
              Item: {
                room: input.Key?.room ?? { S: '' },
                id: input.Key?.id ?? { S: '' },
                messageId: original.id,
                sentAt: original.sentAt,
                expiresAt: { N: '9999999999' },
              },
            },
      );
      const event = loadEvent('sendmessage');
      event.body = JSON.stringify({ action: 'sendmessage', message: 'first', clientId: 'm-1' });

      // Act
      await handler(event, lambdaContext('sendmessage'));

      // Assess
      expect(framesTo(CALLER_ID)[0]).to.deep.include({ type: 'message', id: original.id.S, text: 'first', clientId: 'm-1' });
      expect(ddbMock.commandCalls(PutItemCommand)).to.have.length(0);
      expect(headReleases()).to.have.length(1);
      expect(posts()).to.have.length(1);
    });
  });

  describe('userId on messages', () => {
    it("with auth on, stores the sender's user id with the message and sends it in the message frame", async () => {
      // Prepare
      sender({ protocol: 'chat.v1', name: 'Sam', userId: 'user-sam-1' });
      roomPages([
        connectionItem({ connectionId: CALLER_ID, name: 'Sam', protocol: 'chat.v1', userId: 'user-sam-1' }),
        connectionItem({ connectionId: 'sam-2', name: 'Sam', protocol: 'chat.v1', userId: 'user-sam-2' }),
      ]);

      // Act
      await handler(loadEvent('sendmessage'), lambdaContext('sendmessage'));

      // Assess
      expect(ddbMock.commandCalls(PutItemCommand)[0]?.args[0].input.Item).to.deep.include({
        name: { S: 'Sam' },
        userId: { S: 'user-sam-1' },
      });
      const [received] = framesTo('sam-2');
      expect(received).to.deep.include({ type: 'message', name: 'Sam', userId: 'user-sam-1', text: 'hello, everyone!' });
      expect(framesTo(CALLER_ID)).to.deep.equal([received]);
    });

    it('without auth (AuthMode none), stores and sends no user id at all', async () => {
      // Prepare
      sender({ protocol: 'chat.v1' });
      roomPages([connectionItem({ connectionId: 'bob-1', name: 'bob', protocol: 'chat.v1' })]);

      // Act
      await handler(loadEvent('sendmessage'), lambdaContext('sendmessage'));

      // Assess
      expect(ddbMock.commandCalls(PutItemCommand)[0]?.args[0].input.Item).to.not.have.property('userId');
      expect(Object.keys(framesTo('bob-1')[0] ?? {}).sort()).to.deep.equal(['id', 'name', 'room', 'sentAt', 'text', 'type']);
    });
  });
});
