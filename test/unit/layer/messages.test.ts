import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import { readHistory, saveMessage } from 'chat-core';
import sinon from 'sinon';
import { decodeTime, encodeTime } from 'ulid';
import { type Item, ddbMock, expectRejection, resetMocks } from '../helpers';

const TABLE = 'messages-table';
const NOW = 1643136607642; // 2022-01-25T18:50:07.642Z
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** A stored message item; `n` orders them (its id sorts by n). */
function messageItem(n: number, room = 'lobby'): Item {
  return {
    room: { S: room },
    id: { S: `01HQ3Z9V5X8G2M4N6P7R8S${String(n).padStart(4, '0')}` },
    name: { S: `user${n}` },
    text: { S: `message ${n}` },
    sentAt: { S: new Date(NOW + n * 1000).toISOString() },
  };
}

/** Items numbered from..to, in the order given (DynamoDB returns newest first when reading backwards). */
function range(from: number, to: number): Item[] {
  const step = from <= to ? 1 : -1;
  const items: Item[] = [];
  for (let n = from; n !== to + step; n += step) items.push(messageItem(n));
  return items;
}

describe('layer: messages', () => {
  let clock: sinon.SinonFakeTimers;

  beforeEach(() => {
    resetMocks();
    clock = sinon.useFakeTimers({ now: NOW, toFake: ['Date'] });
  });

  afterEach(() => {
    clock.restore();
  });

  describe('saveMessage', () => {
    it('stores the message with a ULID id, the time, the sender and a TTL, before returning it', async () => {
      // Prepare: ids are monotonic per instance, so this uses a time later than any id made before
      ddbMock.on(PutItemCommand).resolves({});
      ddbMock.on(UpdateItemCommand).resolves({});
      const now = Date.UTC(2100, 0, 1, 12, 0, 0, 250);

      // Act
      const { message } = await saveMessage({ room: 'dev', name: 'alice', text: 'hello, everyone!', connectionId: 'c1' }, { now });

      // Assess
      expect(message.id).to.match(ULID);
      expect(decodeTime(message.id)).to.equal(now);
      expect(message).to.deep.equal({
        id: message.id,
        room: 'dev',
        name: 'alice',
        text: 'hello, everyone!',
        sentAt: '2100-01-01T12:00:00.250Z',
      });
      const calls = ddbMock.commandCalls(PutItemCommand);
      expect(calls).to.have.length(1);
      expect(calls[0]?.args[0].input).to.deep.equal({
        TableName: TABLE,
        Item: {
          room: { S: 'dev' },
          id: { S: message.id },
          name: { S: 'alice' },
          text: { S: 'hello, everyone!' },
          sentAt: { S: '2100-01-01T12:00:00.250Z' },
          connectionId: { S: 'c1' },
          expiresAt: { N: String(Math.floor(now / 1000) + 7 * 24 * 60 * 60) },
        },
        ConditionExpression: 'attribute_not_exists(id)',
      });
    });

    it('never hands out an id below one it gave before, even for an earlier clock reading', async () => {
      // Prepare
      ddbMock.on(PutItemCommand).resolves({});
      ddbMock.on(UpdateItemCommand).resolves({});
      const draft = { room: 'dev', name: 'alice', text: 'x', connectionId: 'c1' };

      // Act
      const { message: later } = await saveMessage(draft, { now: Date.UTC(2100, 0, 2) });
      const { message: earlier } = await saveMessage(draft, { now: Date.UTC(2100, 0, 1) });

      // Assess
      expect(earlier.id > later.id).to.equal(true);
      expect(earlier.sentAt).to.equal('2100-01-01T00:00:00.000Z');
    });

    it('gives messages of the same millisecond distinct, increasing ids', async () => {
      // Prepare
      ddbMock.on(PutItemCommand).resolves({});
      ddbMock.on(UpdateItemCommand).resolves({});
      const draft = { room: 'dev', name: 'alice', text: 'x', connectionId: 'c1' };

      // Act
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1) ids.push((await saveMessage(draft, { now: NOW + 60_000 })).message.id);

      // Assess
      expect(new Set(ids).size).to.equal(5);
      expect([...ids].sort()).to.deep.equal(ids);
    });

    it('rejects when the write fails (nothing is sent of an unstored message)', async () => {
      // Prepare
      ddbMock.on(UpdateItemCommand).resolves({});
      ddbMock.on(PutItemCommand).rejects(new Error('InternalServerError'));

      // Act
      const error = await expectRejection(saveMessage({ room: 'dev', name: 'a', text: 'x', connectionId: 'c1' }, { now: NOW }));

      // Assess
      expect(error.message).to.equal('InternalServerError');
    });
  });

  describe('readHistory', () => {
    it('latest: reads backwards limit + 1 and returns the latest `limit`, oldest first, with hasMore', async () => {
      // Prepare: DynamoDB returns newest first
      ddbMock.on(QueryCommand).resolves({ Items: range(30, 10) }); // 21 items

      // Act
      const page = await readHistory('lobby', { limit: 20 });

      // Assess
      expect(page.messages.map((m) => m.text)).to.deep.equal(range(11, 30).map((i) => i.text?.S));
      expect(page.hasMore).to.equal(true);
      expect(page.messages[0]).to.deep.equal({
        id: '01HQ3Z9V5X8G2M4N6P7R8S0011',
        room: 'lobby',
        name: 'user11',
        text: 'message 11',
        sentAt: new Date(NOW + 11_000).toISOString(),
      });
      const input = ddbMock.commandCalls(QueryCommand)[0]?.args[0].input;
      expect(input).to.deep.include({
        TableName: TABLE,
        KeyConditionExpression: 'room = :room',
        FilterExpression: 'expiresAt > :now',
        ScanIndexForward: false,
        Limit: 21,
      });
      expect(input?.ExpressionAttributeValues).to.deep.equal({ ':room': { S: 'lobby' }, ':now': { N: '1643136607' } });
    });

    it('latest: hasMore is false when the room has no more than `limit`', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: range(3, 1) });

      // Act
      const page = await readHistory('lobby', { limit: 3 });

      // Assess
      expect(page.messages.map((m) => m.text)).to.deep.equal(['message 1', 'message 2', 'message 3']);
      expect(page.hasMore).to.equal(false);
    });

    it('before: the `limit` just before that id, oldest first', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: range(9, 5) });
      const before = '01HQ3Z9V5X8G2M4N6P7R8S0010';

      // Act
      const page = await readHistory('lobby', { limit: 5, before });

      // Assess
      expect(page.messages.map((m) => m.text)).to.deep.equal(['message 5', 'message 6', 'message 7', 'message 8', 'message 9']);
      expect(page.hasMore).to.equal(false);
      const input = ddbMock.commandCalls(QueryCommand)[0]?.args[0].input;
      expect(input?.KeyConditionExpression).to.equal('room = :room AND id < :before');
      expect(input?.ExpressionAttributeValues?.[':before']).to.deep.equal({ S: before });
      expect(input?.ScanIndexForward).to.equal(false);
      expect(input?.Limit).to.equal(6);
    });

    it('after: reads forwards and returns the `limit` just after that id, oldest first', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: range(11, 14) });
      const after = '01HQ3Z9V5X8G2M4N6P7R8S0010';

      // Act
      const page = await readHistory('lobby', { limit: 3, after });

      // Assess
      expect(page.messages.map((m) => m.text)).to.deep.equal(['message 11', 'message 12', 'message 13']);
      expect(page.hasMore).to.equal(true);
      const input = ddbMock.commandCalls(QueryCommand)[0]?.args[0].input;
      expect(input?.KeyConditionExpression).to.equal('room = :room AND id > :after');
      expect(input?.ExpressionAttributeValues?.[':after']).to.deep.equal({ S: after });
      expect(input?.ExpressionAttributeValues).not.to.have.property(':before');
      expect(input?.ScanIndexForward).to.equal(true);
      expect(input?.Limit).to.equal(4);
    });

    it('reads further pages when expired messages were filtered out, asking only for what is missing', async () => {
      // Prepare: 2 of 6 then 4 more
      const lastKey = { room: { S: 'lobby' }, id: { S: 'k' } };
      ddbMock
        .on(QueryCommand)
        .resolvesOnce({ Items: range(20, 19), LastEvaluatedKey: lastKey })
        .resolvesOnce({ Items: range(18, 15), LastEvaluatedKey: { room: { S: 'lobby' }, id: { S: 'k2' } } });

      // Act
      const page = await readHistory('lobby', { limit: 5 });

      // Assess
      const calls = ddbMock.commandCalls(QueryCommand);
      expect(calls).to.have.length(2);
      expect(calls[0]?.args[0].input.Limit).to.equal(6);
      expect(calls[1]?.args[0].input.Limit).to.equal(4);
      expect(calls[1]?.args[0].input.ExclusiveStartKey).to.deep.equal(lastKey);
      expect(page.messages.map((m) => m.text)).to.deep.equal(['message 16', 'message 17', 'message 18', 'message 19', 'message 20']);
      expect(page.hasMore).to.equal(true);
    });

    it('stops at the end of the room', async () => {
      // Prepare
      ddbMock
        .on(QueryCommand)
        .resolvesOnce({ Items: [], LastEvaluatedKey: { room: { S: 'lobby' }, id: { S: 'k' } } })
        .resolvesOnce({ Items: range(2, 1) });

      // Act
      const page = await readHistory('lobby', { limit: 50 });

      // Assess
      expect(ddbMock.commandCalls(QueryCommand)).to.have.length(2);
      expect(page.messages.map((m) => m.text)).to.deep.equal(['message 1', 'message 2']);
      expect(page.hasMore).to.equal(false);
    });

    it('an empty room: no messages, nothing more', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({});

      // Act
      const page = await readHistory('empty', { limit: 10 });

      // Assess
      expect(page).to.deep.equal({ messages: [], hasMore: false });
    });
  });
  describe('the room chain (prevId) and idempotent sends (clientId)', () => {
    const T = Date.UTC(2100, 0, 3);
    const PREV = '01HQ3Z9V5X8G2M4N6P7R8S0001';
    const draft = { room: 'dev', name: 'alice', text: 'hello', connectionId: 'c1' };
    const head = { room: { S: 'head#dev' }, id: { S: 'head' } };
    const conditionFailed = (): ConditionalCheckFailedException =>
      new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
    const recordKey = (who = 'connection:c1', clientId = 'm-1') => ({ room: { S: `client#dev#${who}` }, id: { S: clientId } });
    const future = String(Math.floor(T / 1000) + 3600);

    it('takes the next place with one conditional write to the room head, and names the message before it (prevId)', async () => {
      // Prepare
      ddbMock.on(UpdateItemCommand).resolves({ Attributes: { ...head, lastId: { S: PREV } } });
      ddbMock.on(PutItemCommand).resolves({});

      // Act
      const { message, repeat } = await saveMessage(draft, { now: T });

      // Assess
      expect(repeat).to.equal(false);
      expect(message.prevId).to.equal(PREV);
      const claim = ddbMock.commandCalls(UpdateItemCommand)[0]?.args[0].input;
      expect(claim).to.deep.include({
        TableName: TABLE,
        Key: head,
        UpdateExpression: 'SET lastId = :id, expiresAt = :expiresAt',
        ConditionExpression: 'attribute_not_exists(lastId) OR lastId < :id',
        ReturnValues: 'ALL_OLD',
      });
      expect(claim?.ExpressionAttributeValues?.[':id']).to.deep.equal({ S: message.id });
      expect(ddbMock.commandCalls(PutItemCommand)[0]?.args[0].input.Item).to.deep.include({ id: { S: message.id }, prevId: { S: PREV } });
      expect(ddbMock.commandCalls(GetItemCommand), 'no read on the common path').to.have.length(0);
    });

    it("gives a room's first message no prevId", async () => {
      // Prepare
      ddbMock.on(UpdateItemCommand).resolves({});
      ddbMock.on(PutItemCommand).resolves({});

      // Act
      const { message } = await saveMessage(draft, { now: T + 1 });

      // Assess
      expect(message).to.not.have.property('prevId');
      expect(ddbMock.commandCalls(PutItemCommand)[0]?.args[0].input.Item).to.not.have.property('prevId');
    });

    it('when another sender got ahead (head past its id), reads the head and takes an id after it', async () => {
      // Prepare: the head holds an id from an instance whose clock runs a minute ahead
      const ahead = `${encodeTime(T + 60_000)}ZZZZZZZZZZZZZZZZ`;
      ddbMock
        .on(UpdateItemCommand)
        .rejectsOnce(conditionFailed())
        .resolves({ Attributes: { lastId: { S: ahead } } });
      ddbMock.on(GetItemCommand).resolves({ Item: { ...head, lastId: { S: ahead } } });
      ddbMock.on(PutItemCommand).resolves({});

      // Act
      const { message } = await saveMessage(draft, { now: T + 2 });

      // Assess
      expect(message.id > ahead, `${message.id} after ${ahead}`).to.equal(true);
      expect(message.id).to.match(ULID);
      expect(message.prevId).to.equal(ahead);
      expect(ddbMock.commandCalls(GetItemCommand)[0]?.args[0].input).to.deep.include({ Key: head, ConsistentRead: true });
    });

    it('gives its place back when the message cannot be stored', async () => {
      // Prepare
      ddbMock.on(UpdateItemCommand).resolves({ Attributes: { lastId: { S: PREV } } });
      ddbMock.on(PutItemCommand).rejects(new Error('InternalServerError'));

      // Act
      const error = await expectRejection(saveMessage(draft, { now: T + 3 }));

      // Assess
      expect(error.message).to.equal('InternalServerError');
      const release = ddbMock.commandCalls(UpdateItemCommand)[1]?.args[0].input;
      expect(release).to.deep.include({ Key: head, UpdateExpression: 'SET lastId = :prevId', ConditionExpression: 'lastId = :id' });
      expect(release?.ExpressionAttributeValues).to.deep.include({ ':prevId': { S: PREV } });
    });

    it('with a clientId: records the place it took (room, sender, clientId) before storing the message', async () => {
      // Prepare
      ddbMock.on(GetItemCommand).resolves({});
      ddbMock.on(UpdateItemCommand).resolves({ Attributes: { lastId: { S: PREV } } });
      ddbMock.on(PutItemCommand).resolves({});

      // Act
      const { message, repeat } = await saveMessage(draft, { now: T + 4, clientId: 'm-1' });

      // Assess
      expect(repeat).to.equal(false);
      expect(ddbMock.commandCalls(GetItemCommand)[0]?.args[0].input).to.deep.include({ Key: recordKey(), ConsistentRead: true });
      const [record, stored] = ddbMock.commandCalls(PutItemCommand).map((call) => call.args[0].input);
      expect(record?.Item).to.deep.include({
        ...recordKey(),
        messageId: { S: message.id },
        prevId: { S: PREV },
        sentAt: { S: message.sentAt },
      });
      expect(record?.ConditionExpression).to.equal('attribute_not_exists(id) OR expiresAt <= :now');
      expect(stored?.Item).to.deep.include({ room: { S: 'dev' }, id: { S: message.id } });
    });

    it("keys the record by the token's subject when signed in, so a repeat after a reconnect is recognised", async () => {
      // Prepare
      ddbMock.on(GetItemCommand).resolves({});
      ddbMock.on(UpdateItemCommand).resolves({});
      ddbMock.on(PutItemCommand).resolves({});

      // Act
      await saveMessage({ ...draft, userId: 'sub-1' }, { now: T + 5, clientId: 'm-2' });

      // Assess
      expect(ddbMock.commandCalls(GetItemCommand)[0]?.args[0].input.Key).to.deep.equal(recordKey('user:sub-1', 'm-2'));
    });

    it('a repeat of a stored clientId stores nothing and returns the original message', async () => {
      // Prepare
      const id = { S: '01HQ3Z9V5X8G2M4N6P7R8S0007' };
      const sentAt = { S: '2100-01-02T00:00:00.000Z' };
      const original: Item = { ...messageItem(7, 'dev'), id, sentAt, prevId: { S: PREV } };
      ddbMock.on(GetItemCommand, { Key: recordKey() }).resolves({
        Item: { ...recordKey(), messageId: id, sentAt, prevId: { S: PREV }, expiresAt: { N: future } },
      });
      ddbMock.on(GetItemCommand, { Key: { room: { S: 'dev' }, id } }).resolves({ Item: original });

      // Act
      const { message, repeat } = await saveMessage({ ...draft, text: 'message 7' }, { now: T, clientId: 'm-1' });

      // Assess
      expect(repeat).to.equal(true);
      expect(message).to.deep.equal({
        id: id.S,
        room: 'dev',
        name: 'user7',
        text: 'message 7',
        sentAt: sentAt.S,
        prevId: PREV,
      });
      expect(ddbMock.commandCalls(PutItemCommand), 'nothing stored').to.have.length(0);
      expect(ddbMock.commandCalls(UpdateItemCommand), 'no place taken').to.have.length(0);
    });

    it('a repeat whose first attempt recorded its place but never stored the message stores it there', async () => {
      // Prepare
      const id = '01HQ3Z9V5X8G2M4N6P7R8S0009';
      const sentAt = '2100-01-03T00:00:00.000Z';
      ddbMock.on(GetItemCommand, { Key: recordKey() }).resolves({
        Item: { ...recordKey(), messageId: { S: id }, sentAt: { S: sentAt }, prevId: { S: PREV }, expiresAt: { N: future } },
      });
      ddbMock.on(GetItemCommand, { Key: { room: { S: 'dev' }, id: { S: id } } }).resolves({});
      ddbMock.on(PutItemCommand).resolves({});

      // Act
      const { message, repeat } = await saveMessage(draft, { now: T + 6, clientId: 'm-1' });

      // Assess
      expect(repeat, 'new to the room: it is to be fanned out').to.equal(false);
      expect(message).to.deep.include({ id, sentAt, prevId: PREV, text: 'hello' });
      expect(ddbMock.commandCalls(PutItemCommand)[0]?.args[0].input).to.deep.include({ ConditionExpression: 'attribute_not_exists(id)' });
      expect(ddbMock.commandCalls(UpdateItemCommand), 'its place was taken already').to.have.length(0);
    });

    it('two sends with one clientId at once: the second to record gives its place back and answers with the first', async () => {
      // Prepare: no record when read; the record write loses the race; then the first one's record and message are there
      const firstId = '01HQ3Z9V5X8G2M4N6P7R8S0011';
      const sentAt = { S: '2100-01-02T00:00:00.000Z' };
      const firstItem: Item = { ...messageItem(11, 'dev'), id: { S: firstId }, sentAt };
      ddbMock
        .on(GetItemCommand, { Key: recordKey() })
        .resolvesOnce({})
        .resolves({ Item: { ...recordKey(), messageId: { S: firstId }, sentAt, expiresAt: { N: future } } });
      ddbMock.on(GetItemCommand, { Key: { room: { S: 'dev' }, id: { S: firstId } } }).resolves({ Item: firstItem });
      ddbMock.on(UpdateItemCommand).resolves({ Attributes: { lastId: { S: firstId } } });
      ddbMock.on(PutItemCommand).rejects(conditionFailed());

      // Act
      const { message, repeat } = await saveMessage(draft, { now: T + 7, clientId: 'm-1' });

      // Assess
      expect(repeat).to.equal(true);
      expect(message.id).to.equal(firstId);
      const [claim, release] = ddbMock.commandCalls(UpdateItemCommand).map((call) => call.args[0].input);
      expect(release).to.deep.include({ ConditionExpression: 'lastId = :id' });
      expect(release?.ExpressionAttributeValues?.[':id']).to.deep.equal(claim?.ExpressionAttributeValues?.[':id']);
      expect(ddbMock.commandCalls(PutItemCommand), 'only the record write was tried').to.have.length(1);
    });

    it('an expired record counts as none (TTL deletes lazily)', async () => {
      // Prepare
      ddbMock.on(GetItemCommand).resolves({
        Item: {
          ...recordKey(),
          messageId: { S: PREV },
          sentAt: { S: '2000-01-01T00:00:00.000Z' },
          expiresAt: { N: String(Math.floor(T / 1000) - 1) },
        },
      });
      ddbMock.on(UpdateItemCommand).resolves({});
      ddbMock.on(PutItemCommand).resolves({});

      // Act
      const { message, repeat } = await saveMessage(draft, { now: T + 8, clientId: 'm-1' });

      // Assess
      expect(repeat).to.equal(false);
      expect(message.id).to.not.equal(PREV);
      expect(ddbMock.commandCalls(PutItemCommand)).to.have.length(2);
    });
  });

  describe('user ids (AuthMode cognito or oidc)', () => {
    it("stores the sender's user id with the message and returns it", async () => {
      // Prepare
      ddbMock.on(PutItemCommand).resolves({});
      ddbMock.on(UpdateItemCommand).resolves({});

      // Act
      const { message } = await saveMessage(
        { room: 'dev', name: 'Sam', text: 'hi', connectionId: 'c1', userId: 'user-sam-1' },
        { now: Date.UTC(2100, 0, 2) },
      );

      // Assess
      expect(message.userId).to.equal('user-sam-1');
      expect(ddbMock.commandCalls(PutItemCommand)[0]?.args[0].input.Item).to.deep.include({ userId: { S: 'user-sam-1' } });
    });

    it('reads the user id back in history, and none for messages stored without one', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: [{ ...messageItem(2), userId: { S: 'user-2' } }, messageItem(1)] });

      // Act
      const page = await readHistory('lobby', { limit: 10 });

      // Assess
      expect(page.messages.map((m) => m.userId)).to.deep.equal([undefined, 'user-2']);
      expect(page.messages[0]).to.not.have.property('userId');
      expect(ddbMock.commandCalls(QueryCommand)[0]?.args[0].input.ProjectionExpression).to.equal(
        'room, id, #name, #text, sentAt, userId, prevId, backend, deletedAt',
      );
    });
  });
});
