import { GoneException, LimitExceededException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { expect } from 'chai';
import { type Recipient, config, redeliver, replyOrRedeliver } from 'chat-core';
import { REDELIVERY_DELAYS_SECONDS } from '../../../layers/chat-core/src/delivery/redelivery';
import { type Shard } from '../../../layers/chat-core/src/delivery/shards';
import sinon from 'sinon';
import { apiMock, resetMocks, sqsMock, MESSAGE_FRAME, QUEUE_URL } from '../helpers';

const FRAME = MESSAGE_FRAME;
const BOB: Recipient = { connectionId: 'bob-1', protocol: 'chat.v1', connectedAt: 1 };

/** What was queued: each entry's shard and delay. */
function queued(): { shard: Shard; delaySeconds: number | undefined }[] {
  return sqsMock
    .commandCalls(SendMessageBatchCommand)
    .flatMap((call) => call.args[0].input.Entries ?? [])
    .map((entry) => ({ shard: JSON.parse(entry.MessageBody ?? '') as Shard, delaySeconds: entry.DelaySeconds }));
}

const throttled = (): LimitExceededException =>
  new LimitExceededException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } });

describe('layer: redelivery of failed posts', () => {
  beforeEach(() => {
    resetMocks();
    sinon.define(config, 'FANOUT_QUEUE_URL', QUEUE_URL);
    sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  });

  afterEach(() => {
    sinon.restore();
  });

  it('queues the recipients whose posts failed as a delayed shard of the fan-out queue (redelivery 1)', async () => {
    // Act
    const queuedIt = await redeliver(FRAME, [BOB, { connectionId: 'carol-1', protocol: 'plain' }]);

    // Assess
    expect(queuedIt).to.equal(true);
    expect(queued()).to.deep.equal([
      {
        shard: {
          frame: FRAME,
          recipients: [
            ['bob-1', 'chat.v1', 1],
            ['carol-1', 'plain'],
          ],
          redelivery: 1,
        },
        delaySeconds: REDELIVERY_DELAYS_SECONDS[0],
      },
    ]);
  });

  it('waits longer for each later redelivery, and gives up once the delays run out', async () => {
    // Act
    const second = await redeliver(FRAME, [BOB], 1);
    const pastTheLast = await redeliver(FRAME, [BOB], REDELIVERY_DELAYS_SECONDS.length);

    // Assess
    expect(second).to.equal(true);
    expect(pastTheLast).to.equal(false);
    expect(queued().map((q) => [q.shard.redelivery, q.delaySeconds])).to.deep.equal([[2, REDELIVERY_DELAYS_SECONDS[1]]]);
    expect(REDELIVERY_DELAYS_SECONDS[1]).to.be.greaterThan(REDELIVERY_DELAYS_SECONDS[0] as number);
  });

  it('queues nothing for no recipients, and nothing without a queue', async () => {
    // Act
    const none = await redeliver(FRAME, []);
    sinon.restore();
    const noQueue = await redeliver(FRAME, [BOB]);

    // Assess
    expect(none).to.equal(true);
    expect(config.FANOUT_QUEUE_URL).to.equal(undefined);
    expect(noQueue).to.equal(false);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).to.have.length(0);
  });

  it('does not throw when SQS fails: the message is stored, history still has it', async () => {
    // Prepare
    sqsMock.on(SendMessageBatchCommand).rejects(new Error('ServiceUnavailable'));

    // Act
    const queuedIt = await redeliver(FRAME, [BOB]);

    // Assess
    expect(queuedIt).to.equal(false);
  });

  describe("replyOrRedeliver (a sender's confirmation)", () => {
    it("a reply that fails for good (429 after the SDK's retries) is queued for redelivery instead of failing the caller", async () => {
      // Prepare
      apiMock.on(PostToConnectionCommand).rejects(throttled());

      // Act
      await replyOrRedeliver(BOB, FRAME);

      // Assess
      expect(queued().map((q) => q.shard)).to.deep.equal([{ frame: FRAME, recipients: [['bob-1', 'chat.v1', 1]], redelivery: 1 }]);
    });

    it('a delivered reply queues nothing; nor does one to a connection that is gone', async () => {
      // Prepare
      apiMock
        .on(PostToConnectionCommand)
        .resolves({})
        .on(PostToConnectionCommand, { ConnectionId: 'gone-1' })
        .rejects(new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } }));

      // Act
      await replyOrRedeliver(BOB, FRAME);
      await replyOrRedeliver({ connectionId: 'gone-1', protocol: 'chat.v1' }, FRAME);

      // Assess
      expect(apiMock.commandCalls(PostToConnectionCommand)).to.have.length(2);
      expect(sqsMock.commandCalls(SendMessageBatchCommand)).to.have.length(0);
    });
  });
});
