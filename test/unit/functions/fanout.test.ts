import { GoneException, LimitExceededException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { BatchWriteItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { expect } from 'chai';
import { config, notePresence } from 'chat-core';
import { REDELIVERY_DELAYS_SECONDS } from '../../../layers/chat-core/src/delivery/redelivery';
import { HANDOFF_RESERVE_MS, MAX_STALLS } from '../../../layers/chat-core/src/delivery/fanout';
import { type Shard } from '../../../layers/chat-core/src/delivery/shards';
import sinon from 'sinon';
import { handler } from '../../../functions/fanout';
import {
  apiMock,
  connectionItem,
  ddbMock,
  fakePresenceItems,
  lambdaContext,
  posts,
  resetMocks,
  sqsMock,
  MESSAGE_FRAME,
  QUEUE_URL,
} from '../helpers';

const FRAME = MESSAGE_FRAME;

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

  afterEach(() => {
    sinon.restore();
  });

  it('delivers each shard to its recipients in their protocol', async () => {
    // Prepare
    const event: SQSEvent = {
      Records: [
        record(
          'm1',
          shard([
            ['p1', 'plain'],
            ['j1', 'chat.v1'],
          ]),
        ),
        record('m2', shard([['p2', 'plain']])),
      ],
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

  it('answers a batch that failed whole with its records for retry rather than throwing: Errors stays for invocations that fail', async () => {
    // Prepare: the event source sends one record at a time (BatchSize 1), so every failure is a whole batch's
    const event: SQSEvent = { Records: [record('bad', 'not json'), record('worse', '{"frame":{}}')] };

    // Act
    const result = await handler(event, lambdaContext('fanout'));

    // Assess
    expect(result).to.deep.equal({ batchItemFailures: [{ itemIdentifier: 'bad' }, { itemIdentifier: 'worse' }] });
    expect(posts()).to.deep.equal([]);
  });

  it('re-queues the recipients its time does not reach as a new shard, and reports no failure: a redelivery repeats nothing', async () => {
    // Prepare: each post takes 1000 ms of (fake) wall-clock time, one at a time; the time left
    // fits two posts (POST_TIMEOUT_MS 3000 + the reserve: HANDOFF_RESERVE_MS 1500 and a confirmation's 3000 + 1500)
    sinon.replace(config, 'FANOUT_CONCURRENCY', 1);
    sinon.define(config, 'FANOUT_QUEUE_URL', QUEUE_URL);
    const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
    apiMock.on(PostToConnectionCommand).callsFake(() => {
      clock.tick(1000);
      return {};
    });
    sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const end = Date.now() + 2 * 3000 + HANDOFF_RESERVE_MS + 1500;
    const context = { ...lambdaContext('fanout'), getRemainingTimeInMillis: () => end - Date.now() };
    const event: SQSEvent = {
      Records: [
        record(
          'm1',
          shard([
            ['p1', 'plain'],
            ['p2', 'plain'],
            ['j1', 'chat.v1', 5],
            ['j2', 'chat.v1'],
          ]),
        ),
      ],
    };

    // Act
    const result = await handler(event, context);

    // Assess
    expect(result).to.deep.equal({ batchItemFailures: [] });
    expect(posts().map((p) => p.to)).to.deep.equal(['p1', 'p2']);
    const requeued = sqsMock.commandCalls(SendMessageBatchCommand).flatMap((call) => call.args[0].input.Entries ?? []);
    expect(requeued.map((entry) => JSON.parse(entry.MessageBody ?? ''))).to.deep.equal([
      {
        frame: FRAME,
        recipients: [
          ['j1', 'chat.v1', 5],
          ['j2', 'chat.v1'],
        ],
      },
    ]);
  });

  it('reports the record for retry when the recipients it did not reach cannot be re-queued', async () => {
    // Prepare: no time for any post
    sinon.define(config, 'FANOUT_QUEUE_URL', QUEUE_URL);
    sqsMock.on(SendMessageBatchCommand).rejects(new Error('SQS unavailable'));
    const context = { ...lambdaContext('fanout'), getRemainingTimeInMillis: () => 1000 };

    // Act
    const result = await handler({ Records: [record('m1', shard([['p1', 'plain']]))] }, context);

    // Assess
    expect(result).to.deep.equal({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    expect(posts()).to.deep.equal([]);
  });

  it('an invocation with no time for even one post puts the shard back later, a few times, then fails it', async () => {
    // Prepare
    sinon.define(config, 'FANOUT_QUEUE_URL', QUEUE_URL);
    sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const context = { ...lambdaContext('fanout'), getRemainingTimeInMillis: () => 1000 };

    // Act
    const first = await handler({ Records: [record('m1', shard([['p1', 'plain']]))] }, context);
    const [entry] = sqsMock.commandCalls(SendMessageBatchCommand)[0]?.args[0].input.Entries ?? [];
    const last = await handler(
      { Records: [record('m2', JSON.stringify({ ...JSON.parse(shard([['p1', 'plain']])), stalled: MAX_STALLS }))] },
      context,
    );

    // Assess
    expect(first).to.deep.equal({ batchItemFailures: [] });
    expect(entry?.DelaySeconds).to.equal(2);
    expect(JSON.parse(entry?.MessageBody ?? '')).to.deep.include({ stalled: 1 });
    expect(last).to.deep.equal({ batchItemFailures: [{ itemIdentifier: 'm2' }] });
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).to.have.length(1);
    expect(posts()).to.deep.equal([]);
  });

  it("sends a room's pending presence notices when their flush falls due", async () => {
    // Prepare
    sinon.define(config, 'FANOUT_QUEUE_URL', QUEUE_URL);
    fakePresenceItems();
    sqsMock.on(SendMessageCommand).resolves({});
    ddbMock
      .on(QueryCommand)
      .resolves({ Items: [connectionItem({ connectionId: 'ann-1', room: 'dev', name: 'ann', protocol: 'chat.v1' })] });
    await notePresence('dev', { event: 'leave', name: 'bob' }, { connectionId: 'bob-1', protocol: 'chat.v1' });
    const body = sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageBody ?? '';

    // Act
    const result = await handler({ Records: [record('p1', body)] }, lambdaContext('fanout'));

    // Assess
    expect(result).to.deep.equal({ batchItemFailures: [] });
    expect(posts()).to.deep.equal([{ to: 'ann-1', text: '{"type":"presence","room":"dev","event":"leave","name":"bob"}' }]);
  });

  it('removes the recipients that are gone, without failing the record', async () => {
    // Prepare
    apiMock.on(PostToConnectionCommand, { ConnectionId: 'p2' }).rejects(new GoneException({ message: 'Gone', $metadata: {} }));
    const event: SQSEvent = {
      Records: [
        record(
          'm1',
          shard([
            ['p1', 'plain'],
            ['p2', 'plain'],
          ]),
        ),
      ],
    };

    // Act
    const result = await handler(event, lambdaContext('fanout'));

    // Assess
    expect(result).to.deep.equal({ batchItemFailures: [] });
    const deletes = ddbMock.commandCalls(BatchWriteItemCommand)[0]?.args[0].input.RequestItems?.['connections-table'];
    expect(deletes).to.deep.equal([{ DeleteRequest: { Key: { connectionId: { S: 'p2' } } } }]);
  });
  describe('redelivery of failed posts', () => {
    const queued = (): Shard[] =>
      sqsMock
        .commandCalls(SendMessageBatchCommand)
        .flatMap((call) => call.args[0].input.Entries ?? [])
        .map((entry) => JSON.parse(entry.MessageBody ?? '') as Shard);

    beforeEach(() => {
      sinon.define(config, 'FANOUT_QUEUE_URL', QUEUE_URL);
      sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
      apiMock
        .on(PostToConnectionCommand, { ConnectionId: 'j2' })
        .rejects(new LimitExceededException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } }));
    });

    afterEach(() => {
      sinon.restore();
    });

    it('queues the recipients whose posts failed (not 410) again, one redelivery later, without failing the record', async () => {
      // Prepare
      const event: SQSEvent = {
        Records: [
          record(
            'm1',
            JSON.stringify({
              frame: FRAME,
              recipients: [
                ['j1', 'chat.v1'],
                ['j2', 'chat.v1'],
              ],
              redelivery: 1,
            }),
          ),
        ],
      };

      // Act
      const result = await handler(event, lambdaContext('fanout'));

      // Assess
      expect(result).to.deep.equal({ batchItemFailures: [] });
      expect(queued()).to.deep.equal([{ frame: FRAME, recipients: [['j2', 'chat.v1']], redelivery: 2 }]);
      expect(sqsMock.commandCalls(SendMessageBatchCommand)[0]?.args[0].input.Entries?.[0]?.DelaySeconds).to.equal(
        REDELIVERY_DELAYS_SECONDS[1],
      );
    });

    it('a redelivery put back for lack of time keeps its count, so its tries stay bounded', async () => {
      // Prepare: no time for any post
      const context = { ...lambdaContext('fanout'), getRemainingTimeInMillis: () => 1000 };
      const event: SQSEvent = { Records: [record('m1', JSON.stringify({ frame: FRAME, recipients: [['j2', 'chat.v1']], redelivery: 2 }))] };

      // Act
      const result = await handler(event, context);

      // Assess
      expect(result).to.deep.equal({ batchItemFailures: [] });
      expect(posts()).to.deep.equal([]);
      expect(queued()).to.deep.equal([{ frame: FRAME, recipients: [['j2', 'chat.v1']], redelivery: 2, stalled: 1 }]);
    });

    it('gives up after the last redelivery (the message is stored: history has it)', async () => {
      // Prepare
      const last = REDELIVERY_DELAYS_SECONDS.length;
      const event: SQSEvent = {
        Records: [record('m1', JSON.stringify({ frame: FRAME, recipients: [['j2', 'chat.v1']], redelivery: last }))],
      };

      // Act
      const result = await handler(event, lambdaContext('fanout'));

      // Assess
      expect(result).to.deep.equal({ batchItemFailures: [] });
      expect(queued()).to.deep.equal([]);
    });
  });
});
