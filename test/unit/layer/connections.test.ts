import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import { ChatError, deleteConnection, recordMessageSent, recordRequest, saveConnection } from 'chat-core';
import {
  ROOM_INDEX,
  deleteConnections,
  getConnection,
  requireConnection,
  roomConnections,
} from '../../../layers/chat-core/src/connections/connections';
import sinon from 'sinon';
import { CONNECTED_AT, conditionFailed, connectionItem, connectionItems, ddbMock, expectRejection, resetMocks } from '../helpers';

const TABLE = 'connections-table';
/** 2022-01-25T18:50:07.642Z */
const NOW = 1643136607642;

/** A registered connection as the connections table holds it. */
const SENDER = connectionItem({ connectionId: 'c1', room: 'dev', name: 'alice', protocol: 'chat.v1' });

async function collect<T>(pages: AsyncIterable<T[]>): Promise<T[][]> {
  const all: T[][] = [];
  for await (const page of pages) all.push(page);
  return all;
}

describe('layer: connections', () => {
  beforeEach(() => {
    resetMocks();
  });

  describe('saveConnection', () => {
    it('puts the connection keyed by connectionId, with its room, name, protocol and a TTL', async () => {
      // Prepare
      ddbMock.on(PutItemCommand).resolves({});

      // Act
      await saveConnection({ connectionId: 'Mg_ugfpqPHcCIVA=', room: 'lobby', name: 'guest-Mgugfp', protocol: 'plain' }, NOW);

      // Assess
      const calls = ddbMock.commandCalls(PutItemCommand);
      expect(calls).to.have.length(1);
      expect(calls[0]?.args[0].input).to.deep.equal({
        TableName: TABLE,
        Item: {
          connectionId: { S: 'Mg_ugfpqPHcCIVA=' },
          room: { S: 'lobby' },
          name: { S: 'guest-Mgugfp' },
          protocol: { S: 'plain' },
          connectedAt: { N: '1643136607642' },
          expiresAt: { N: String(1643136607 + 8100) },
          rateAt: { N: '0' },
          requestAt: { N: '0' },
        },
      });
    });

    it('keeps the user id of an authenticated connection (AuthMode), and getConnection reads it back', async () => {
      // Prepare
      ddbMock.on(PutItemCommand).resolves({});
      ddbMock.on(GetItemCommand).resolves({ Item: connectionItem({ connectionId: 'c1', name: 'Sam', userId: 'user-sam-1' }) });

      // Act
      await saveConnection({ connectionId: 'c1', room: 'lobby', name: 'Sam', protocol: 'chat.v1', userId: 'user-sam-1' }, NOW);
      const read = await getConnection('c1');

      // Assess
      expect(ddbMock.commandCalls(PutItemCommand)[0]?.args[0].input.Item).to.deep.include({ userId: { S: 'user-sam-1' } });
      expect(read?.userId).to.equal('user-sam-1');
    });

    it('lets a DynamoDB failure through', async () => {
      // Prepare
      ddbMock.on(PutItemCommand).rejects(new Error('ProvisionedThroughputExceededException'));

      // Act
      const error = await expectRejection(saveConnection({ connectionId: 'c1', room: 'lobby', name: 'a', protocol: 'plain' }));

      // Assess
      expect(error.message).to.equal('ProvisionedThroughputExceededException');
    });
  });

  describe('deleteConnection', () => {
    it('deletes the item and returns what it was', async () => {
      // Prepare
      ddbMock.on(DeleteItemCommand).resolves({
        Attributes: { ...connectionItem({ connectionId: 'c1', room: 'dev', name: 'bob', protocol: 'chat.v1' }), rateAt: { N: '0' } },
      });

      // Act
      const deleted = await deleteConnection('c1');

      // Assess
      expect(deleted).to.deep.equal({ connectionId: 'c1', room: 'dev', name: 'bob', protocol: 'chat.v1', connectedAt: CONNECTED_AT });
      expect(ddbMock.commandCalls(DeleteItemCommand)[0]?.args[0].input).to.deep.equal({
        TableName: TABLE,
        Key: { connectionId: { S: 'c1' } },
        ReturnValues: 'ALL_OLD',
      });
    });

    it('returns undefined when there was no such connection', async () => {
      // Prepare
      ddbMock.on(DeleteItemCommand).resolves({});

      // Act
      const deleted = await deleteConnection('unknown');

      // Assess
      expect(deleted).to.equal(undefined);
      expect(ddbMock.commandCalls(DeleteItemCommand)).to.have.length(1);
    });
  });

  describe('getConnection / requireConnection', () => {
    it('reads the connection with a projection of what the functions need', async () => {
      // Prepare
      ddbMock.on(GetItemCommand).resolves({ Item: connectionItem({ connectionId: 'c1', name: 'alice', protocol: 'chat.v1' }) });

      // Act
      const connection = await getConnection('c1');

      // Assess
      expect(connection).to.deep.equal({
        connectionId: 'c1',
        room: 'lobby',
        name: 'alice',
        protocol: 'chat.v1',
        connectedAt: CONNECTED_AT,
      });
      const input = ddbMock.commandCalls(GetItemCommand)[0]?.args[0].input;
      expect(input?.TableName).to.equal(TABLE);
      expect(input?.Key).to.deep.equal({ connectionId: { S: 'c1' } });
      expect(input?.ProjectionExpression).to.equal('connectionId, room, #name, protocol, connectedAt, userId');
      expect(input?.ExpressionAttributeNames).to.deep.equal({ '#name': 'name' });
    });

    it('reads an unknown protocol value as plain', async () => {
      // Prepare
      ddbMock.on(GetItemCommand).resolves({ Item: { ...connectionItem({ connectionId: 'c1' }), protocol: { S: 'chat.v9' } } });

      // Act
      const connection = await getConnection('c1');

      // Assess
      expect(connection?.protocol).to.equal('plain');
    });

    it('getConnection is undefined for an unknown connection', async () => {
      // Prepare
      ddbMock.on(GetItemCommand).resolves({});

      // Assess
      expect(await getConnection('unknown')).to.equal(undefined);
    });

    it('requireConnection refuses an unknown connection with not_connected', async () => {
      // Prepare
      ddbMock.on(GetItemCommand).resolves({});

      // Act
      const error = await expectRejection(requireConnection('unknown'), ChatError);

      // Assess
      expect(error.code).to.equal('not_connected');
      expect(error.message).to.equal('this connection is not registered; reconnect');
    });
  });

  describe('recordMessageSent (rate limit)', () => {
    it('after a quiet spell (the bucket is full): one write that restarts it from now, and returns the sender', async () => {
      // Prepare
      ddbMock.on(UpdateItemCommand).resolves({ Attributes: { ...SENDER, rateAt: { N: String(NOW + 500) } } });

      // Act
      const sender = await recordMessageSent('c1', NOW);

      // Assess
      expect(sender).to.deep.equal({ connectionId: 'c1', room: 'dev', name: 'alice', protocol: 'chat.v1', connectedAt: CONNECTED_AT });
      const calls = ddbMock.commandCalls(UpdateItemCommand);
      expect(calls).to.have.length(1);
      expect(calls[0]?.args[0].input).to.deep.equal({
        TableName: TABLE,
        Key: { connectionId: { S: 'c1' } },
        ReturnValues: 'ALL_NEW',
        UpdateExpression: 'SET rateAt = :next',
        // The bucket is created with the connection: a write that finds no bucket finds no connection
        ConditionExpression: 'rateAt <= :now',
        // 20 messages per 10 s: one interval is 500 ms
        ExpressionAttributeValues: { ':now': { N: String(NOW) }, ':next': { N: String(NOW + 500) } },
      });
      expect(ddbMock.commandCalls(GetItemCommand)).to.have.length(0);
    });

    it('messages in a row: one more interval while the bucket has a token left (at most 19 intervals ahead)', async () => {
      // Prepare: the bucket is not full (rateAt is ahead of now), so the burst write decides
      ddbMock
        .on(UpdateItemCommand)
        .rejectsOnce(conditionFailed())
        .resolves({ Attributes: { ...SENDER, rateAt: { N: String(NOW + 1500) } } });

      // Act
      const sender = await recordMessageSent('c1', NOW);

      // Assess
      expect(sender.name).to.equal('alice');
      const calls = ddbMock.commandCalls(UpdateItemCommand);
      expect(calls).to.have.length(2);
      expect(calls[1]?.args[0].input).to.deep.equal({
        TableName: TABLE,
        Key: { connectionId: { S: 'c1' } },
        ReturnValues: 'ALL_NEW',
        UpdateExpression: 'SET rateAt = rateAt + :interval',
        ConditionExpression: 'rateAt > :now AND rateAt <= :latest',
        ExpressionAttributeValues: { ':now': { N: String(NOW) }, ':interval': { N: '500' }, ':latest': { N: String(NOW + 19 * 500) } },
      });
      expect(ddbMock.commandCalls(GetItemCommand)).to.have.length(0);
    });

    it('over the limit (no token left): rate_limited after the two conditional writes, and nothing written', async () => {
      // Prepare
      ddbMock.on(UpdateItemCommand).rejects(conditionFailed());
      ddbMock.on(GetItemCommand).resolves({ Item: { connectionId: { S: 'c1' }, rateAt: { N: String(NOW + 10_000) } } });

      // Act
      const error = await expectRejection(recordMessageSent('c1', NOW), ChatError);

      // Assess
      expect(error.code).to.equal('rate_limited');
      expect(error.message).to.equal('more than 20 messages in 10 seconds from this connection; wait a moment');
      expect(ddbMock.commandCalls(UpdateItemCommand)).to.have.length(2);
      expect(ddbMock.commandCalls(GetItemCommand)[0]?.args[0].input).to.deep.include({ ProjectionExpression: 'connectionId, rateAt' });
    });

    it('a connection saved before it had the bucket (a stack update): gets a full one, and its token', async () => {
      // Prepare: no rateAt at all, so both conditions fail until the bucket is added
      ddbMock
        .on(UpdateItemCommand)
        .rejectsOnce(conditionFailed())
        .rejectsOnce(conditionFailed())
        .resolvesOnce({})
        .resolves({ Attributes: { ...SENDER, rateAt: { N: String(NOW + 500) } } });
      ddbMock.on(GetItemCommand).resolves({ Item: { connectionId: { S: 'c1' } } });

      // Act
      const sender = await recordMessageSent('c1', NOW);

      // Assess
      expect(sender.name).to.equal('alice');
      const calls = ddbMock.commandCalls(UpdateItemCommand).map((call) => call.args[0].input);
      expect(calls).to.have.length(4);
      expect(calls[2]).to.deep.include({
        UpdateExpression: 'SET rateAt = :full',
        ConditionExpression: 'attribute_exists(connectionId) AND attribute_not_exists(rateAt)',
        ExpressionAttributeValues: { ':full': { N: '0' } },
      });
      expect(calls[3]).to.deep.include({ ConditionExpression: 'rateAt <= :now' });
    });

    it('an unknown connection: not_connected, not rate_limited', async () => {
      // Prepare
      ddbMock.on(UpdateItemCommand).rejects(conditionFailed());
      ddbMock.on(GetItemCommand).resolves({});

      // Act
      const error = await expectRejection(recordMessageSent('gone', NOW), ChatError);

      // Assess
      expect(error.code).to.equal('not_connected');
    });

    it('lets any other DynamoDB error through without a second write', async () => {
      // Prepare
      ddbMock.on(UpdateItemCommand).rejects(new Error('ThrottlingException'));

      // Act
      const error = await expectRejection(recordMessageSent('c1', NOW));

      // Assess
      expect(error).not.to.be.instanceOf(ChatError);
      expect(error.message).to.equal('ThrottlingException');
      expect(ddbMock.commandCalls(UpdateItemCommand)).to.have.length(1);
    });
  });

  describe('recordRequest (history, members, $default)', () => {
    it("takes a token from the connection's request bucket (30 per 10 s) and returns the caller, in one write", async () => {
      // Prepare
      ddbMock.on(UpdateItemCommand).resolves({ Attributes: { ...SENDER, requestAt: { N: String(NOW + 333) } } });

      // Act
      const caller = await recordRequest('c1', NOW);

      // Assess
      expect(caller?.name).to.equal('alice');
      const calls = ddbMock.commandCalls(UpdateItemCommand).map((call) => call.args[0].input);
      expect(calls).to.have.length(1);
      expect(calls[0]).to.deep.include({
        TableName: TABLE,
        UpdateExpression: 'SET requestAt = :next',
        ConditionExpression: 'requestAt <= :now',
      });
      expect(calls[0]?.ExpressionAttributeValues?.[':next']).to.deep.equal({ N: String(NOW + 10_000 / 30) });
      expect(ddbMock.commandCalls(GetItemCommand)).to.have.length(0);
    });

    it('is undefined for an unregistered connection (the caller decides what that means)', async () => {
      // Prepare
      ddbMock.on(UpdateItemCommand).rejects(conditionFailed());
      ddbMock.on(GetItemCommand).resolves({});

      // Act
      const caller = await recordRequest('gone', NOW);

      // Assess
      expect(caller).to.equal(undefined);
    });

    it('refuses an empty bucket with rate_limited, naming the requests it counts', async () => {
      // Prepare
      ddbMock.on(UpdateItemCommand).rejects(conditionFailed());
      ddbMock.on(GetItemCommand).resolves({ Item: { connectionId: { S: 'c1' }, requestAt: { N: String(NOW + 10_000) } } });

      // Act
      const error = await expectRejection(recordRequest('c1', NOW), ChatError);

      // Assess
      expect(error.code).to.equal('rate_limited');
      expect(error.message).to.equal(
        'more than 30 requests (history, members and others) in 10 seconds from this connection; wait a moment',
      );
    });
  });

  describe('roomConnections', () => {
    it("queries the room index of the room, projecting what fan-out needs, leaving out ghosts older than API Gateway's 2 hours", async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: [connectionItem({ connectionId: 'c1', room: 'dev', name: 'alice' })] });

      // Act
      const pages = await collect(roomConnections('dev', undefined, undefined, NOW));

      // Assess
      expect(pages).to.deep.equal([[{ connectionId: 'c1', room: 'dev', name: 'alice', protocol: 'plain', connectedAt: CONNECTED_AT }]]);
      const input = ddbMock.commandCalls(QueryCommand)[0]?.args[0].input;
      expect(input).to.deep.include({
        TableName: TABLE,
        IndexName: ROOM_INDEX,
        KeyConditionExpression: 'room = :room',
        FilterExpression: 'connectedAt > :since',
        ExpressionAttributeValues: { ':room': { S: 'dev' }, ':since': { N: String(NOW - 2 * 60 * 60 * 1000) } },
      });
      expect(ROOM_INDEX).to.equal('byRoom');
    });

    it('reads every page, following LastEvaluatedKey', async () => {
      // Prepare: the paginator reuses its input object, so the start keys are recorded as sent
      const key1 = { room: { S: 'lobby' }, connectionId: { S: 'a2' } };
      const key2 = { room: { S: 'lobby' }, connectionId: { S: 'b1' } };
      const responses = [
        { Items: connectionItems(3, 'a'), LastEvaluatedKey: key1 },
        { Items: connectionItems(2, 'b'), LastEvaluatedKey: key2 },
        { Items: connectionItems(1, 'c') },
      ];
      const starts: unknown[] = [];
      ddbMock.on(QueryCommand).callsFake((input: QueryCommandInput) => {
        starts.push(structuredClone(input.ExclusiveStartKey));
        return responses[starts.length - 1] ?? {};
      });

      // Act
      const pages = await collect(roomConnections('lobby'));

      // Assess
      expect(pages.map((page) => page.map((c) => c.connectionId))).to.deep.equal([['a0', 'a1', 'a2'], ['b0', 'b1'], ['c0']]);
      expect(starts).to.deep.equal([undefined, key1, key2]);
    });

    it('yields an empty page for an empty room', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({ Items: [] });

      // Act
      const pages = await collect(roomConnections('empty'));

      // Assess
      expect(pages).to.deep.equal([[]]);
    });
  });

  describe('deleteConnections', () => {
    afterEach(() => {
      sinon.restore();
    });

    function batchIds(index: number): string[] {
      const requests = ddbMock.commandCalls(BatchWriteItemCommand)[index]?.args[0].input.RequestItems?.[TABLE] ?? [];
      return requests.map((request) => request.DeleteRequest?.Key?.connectionId?.S ?? '?');
    }

    it('deletes exactly the given ids, in batches of 25', async () => {
      // Prepare
      ddbMock.on(BatchWriteItemCommand).resolves({ UnprocessedItems: {} });
      const ids = Array.from({ length: 60 }, (_, i) => `stale-${i}`);

      // Act
      await deleteConnections(ids);

      // Assess
      expect(ddbMock.commandCalls(BatchWriteItemCommand)).to.have.length(3);
      expect(batchIds(0)).to.deep.equal(ids.slice(0, 25));
      expect(batchIds(1)).to.deep.equal(ids.slice(25, 50));
      expect(batchIds(2)).to.deep.equal(ids.slice(50));
      const first = ddbMock.commandCalls(BatchWriteItemCommand)[0]?.args[0].input.RequestItems?.[TABLE]?.[0];
      expect(first).to.deep.equal({ DeleteRequest: { Key: { connectionId: { S: 'stale-0' } } } });
    });

    it('sends nothing for no ids', async () => {
      // Act
      await deleteConnections([]);

      // Assess
      expect(ddbMock.commandCalls(BatchWriteItemCommand)).to.have.length(0);
    });

    it('retries the UnprocessedItems, and only those, after a back-off', async () => {
      // Prepare
      const clock = sinon.useFakeTimers({ toFake: ['setTimeout'] });
      ddbMock
        .on(BatchWriteItemCommand)
        .resolvesOnce({
          UnprocessedItems: {
            [TABLE]: [{ DeleteRequest: { Key: { connectionId: { S: 'c2' } } } }, { DeleteRequest: { Key: { connectionId: { S: 'c3' } } } }],
          },
        })
        .resolvesOnce({ UnprocessedItems: { [TABLE]: [{ DeleteRequest: { Key: { connectionId: { S: 'c3' } } } }] } })
        .resolves({});

      // Act
      const done = deleteConnections(['c1', 'c2', 'c3']);
      await clock.tickAsync(100); // 50 * 2^1
      await clock.tickAsync(200); // 50 * 2^2
      await done;

      // Assess
      expect(ddbMock.commandCalls(BatchWriteItemCommand)).to.have.length(3);
      expect(batchIds(0)).to.deep.equal(['c1', 'c2', 'c3']);
      expect(batchIds(1)).to.deep.equal(['c2', 'c3']);
      expect(batchIds(2)).to.deep.equal(['c3']);
    });

    it('gives up after 5 attempts with a clear error', async () => {
      // Prepare
      const clock = sinon.useFakeTimers({ toFake: ['setTimeout'] });
      ddbMock
        .on(BatchWriteItemCommand)
        .resolves({ UnprocessedItems: { [TABLE]: [{ DeleteRequest: { Key: { connectionId: { S: 'c1' } } } }] } });

      // Act
      const done = expectRejection(deleteConnections(['c1']));
      await clock.tickAsync(100 + 200 + 400 + 800);
      const error = await done;

      // Assess
      expect(error.message).to.equal('1 stale connections left undeleted');
      expect(ddbMock.commandCalls(BatchWriteItemCommand)).to.have.length(5);
    });
  });
});
