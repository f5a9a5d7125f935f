import { GoneException, LimitExceededException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import sinon from 'sinon';
import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { expect } from 'chai';
import { type Frame, type Shard, REDELIVERY_DELAYS_SECONDS, config } from 'chat-core';
import { handler } from '../../../functions/fanout';
import { apiMock, ddbMock, lambdaContext, posts, resetMocks, sqsMock } from '../helpers';

const FRAME: Frame = {
  type: 'message',
  id: '01HQ3Z9V5X8G2M4N6P7R8S9T0V',
  room: 'lobby',
  name: 'alice',
  text: 'hello, everyone!',
  sentAt: '2022-01-25T18:50:07.642Z',
};

function record(messageId: string, body: string): SQSRecord {
  return {
    messageId,
    receiptHandle: `handle-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1643136607642',
      SenderId: 'AROAEXAMPLE:sendmessage',
      ApproximateFirstReceiveTimestamp: '1643136607700',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:fanout',
    awsRegion: 'us-east-1',
  };
}

function shard(recipients: Shard['recipients']): string {
  return JSON.stringify({ frame: FRAME, recipients } satisfies Shard);
}

describe('function: fanout (SQS shards of large rooms)', () => {
  beforeEach(() => {
    resetMocks();
    apiMock.on(PostToConnectionCommand).resolves({});
    ddbMock.on(BatchWriteItemCommand).resolves({});
  });

  it('delivers each shard to its recipients in their protocol', async () => {
    // Prepare
    const event: SQSEvent = {
      Records: [record('m1', shard([['p1', 'plain'], ['j1', 'chat.v1']])), record('m2', shard([['p2', 'plain']]))],
    };

    // Act
    const result = await handler(event, lambdaContext('fanout'));

    // Assess
    expect(result).to.deep.equal({ batchItemFailures: [] });
    expect(posts()).to.deep.equal([
      { to: 'p1', text: 'hello, everyone!' },
      { to: 'j1', text: JSON.stringify(FRAME) },
      { to: 'p2', text: 'hello, everyone!' },
    ]);
  });

  it('reports a malformed record for retry and still serves the others', async () => {
    // Prepare
    const event: SQSEvent = { Records: [record('bad', '{"nope":true}'), record('good', shard([['p1', 'plain']]))] };

    // Act
    const result = await handler(event, lambdaContext('fanout'));

    // Assess
    expect(result).to.deep.equal({ batchItemFailures: [{ itemIdentifier: 'bad' }] });
    expect(posts().map((p) => p.to)).to.deep.equal(['p1']);
  });

  it('removes the recipients that are gone, without failing the record', async () => {
    // Prepare
    apiMock.on(PostToConnectionCommand, { ConnectionId: 'p2' }).rejects(new GoneException({ message: 'Gone', $metadata: {} }));
    const event: SQSEvent = { Records: [record('m1', shard([['p1', 'plain'], ['p2', 'plain']]))] };

    // Act
    const result = await handler(event, lambdaContext('fanout'));

    // Assess
    expect(result).to.deep.equal({ batchItemFailures: [] });
    const deletes = ddbMock.commandCalls(BatchWriteItemCommand)[0]?.args[0].input.RequestItems?.['connections-table'];
    expect(deletes).to.deep.equal([{ DeleteRequest: { Key: { connectionId: { S: 'p2' } } } }]);
  });
  describe('redelivery of failed posts', () => {
    const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/fanout';
    const queued = (): Shard[] => sqsMock.commandCalls(SendMessageBatchCommand)
      .flatMap((call) => call.args[0].input.Entries ?? [])
      .map((entry) => JSON.parse(entry.MessageBody ?? '') as Shard);

    beforeEach(() => {
      sinon.define(config, 'FANOUT_QUEUE_URL', QUEUE_URL);
      sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
      apiMock.on(PostToConnectionCommand, { ConnectionId: 'j2' })
        .rejects(new LimitExceededException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } }));
    });

    afterEach(() => {
      sinon.restore();
    });

    it('queues the recipients whose posts failed (not 410) again, one redelivery later, without failing the record', async () => {
      // Prepare
      const event: SQSEvent = { Records: [record('m1', JSON.stringify({ frame: FRAME, recipients: [['j1', 'chat.v1'], ['j2', 'chat.v1']], redelivery: 1 }))] };

      // Act
      const result = await handler(event, lambdaContext('fanout'));

      // Assess
      expect(result).to.deep.equal({ batchItemFailures: [] });
      expect(queued()).to.deep.equal([{ frame: FRAME, recipients: [['j2', 'chat.v1', null]], redelivery: 2 }]);
      expect(sqsMock.commandCalls(SendMessageBatchCommand)[0]?.args[0].input.Entries?.[0]?.DelaySeconds).to.equal(REDELIVERY_DELAYS_SECONDS[1]);
    });

    it('gives up after the last redelivery (the message is stored: history has it)', async () => {
      // Prepare
      const last = REDELIVERY_DELAYS_SECONDS.length;
      const event: SQSEvent = { Records: [record('m1', JSON.stringify({ frame: FRAME, recipients: [['j2', 'chat.v1']], redelivery: last }))] };

      // Act
      const result = await handler(event, lambdaContext('fanout'));

      // Assess
      expect(result).to.deep.equal({ batchItemFailures: [] });
      expect(queued()).to.deep.equal([]);
    });
  });
});
