import { LimitExceededException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { QueryCommand, type QueryCommandInput, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { expect } from 'chai';
import { type Recipient, config, parseQueueMessage, serveShard } from 'chat-core';
import { HANDOFF_RESERVE_MS, announce, confirmationQueued, fanOut } from '../../../layers/chat-core/src/delivery/fanout';
import { type ConfirmTo, type Shard, parseShard, shardRecipients } from '../../../layers/chat-core/src/delivery/shards';
import sinon from 'sinon';
import {
  CONNECTED_AT,
  type Item,
  apiMock,
  connectionItems,
  ddbMock,
  expectRejection,
  expectThrow,
  posts,
  resetMocks,
  sqsMock,
  MESSAGE_FRAME,
  QUEUE_URL,
} from '../helpers';

/** POST_TIMEOUT_MS: the environment leaves its default. */
const POST_TIMEOUT = 3000;
const MESSAGE = MESSAGE_FRAME;

/** The room index answers with these pages, in order (the paginator reuses its input). */
function roomPages(...pages: Item[][]): void {
  let call = 0;
  ddbMock.on(QueryCommand).callsFake((_input: QueryCommandInput) => {
    const index = call;
    call += 1;
    const last = index >= pages.length - 1;
    return {
      Items: pages[index] ?? [],
      ...(last ? {} : { LastEvaluatedKey: { room: { S: 'lobby' }, connectionId: { S: `page-${index}` } } }),
    };
  });
}

/** Every shard queued, in order. */
function queuedShards(): Shard[] {
  return sqsMock
    .commandCalls(SendMessageBatchCommand)
    .flatMap((call) => call.args[0].input.Entries ?? [])
    .map((entry) => JSON.parse(entry.MessageBody ?? '') as Shard);
}

/**
 * The count of the message's shards (confirmation.ts), kept as the connections table would:
 * every ADD applied in order; `changes` lists them, and what each left.
 */
function shardCount(initially = 0): { changes: number[]; left: () => number } {
  let left = initially;
  const changes: number[] = [];
  ddbMock
    .on(UpdateItemCommand, { Key: { connectionId: { S: `confirm#${(MESSAGE as { id: string }).id}` } } })
    .callsFake((input: { ExpressionAttributeValues: Record<string, { N: string }> }) => {
      const change = Number(input.ExpressionAttributeValues[':change']?.N);
      changes.push(change);
      left += change;
      return { Attributes: { shardsLeft: { N: String(left) } } };
    });
  return { changes, left: () => left };
}

const SENDER: ConfirmTo = { connectionId: 'sender', protocol: 'chat.v1', clientId: 'c-1' };

describe('layer: fanout', () => {
  beforeEach(() => {
    resetMocks();
    apiMock.on(PostToConnectionCommand).resolves({});
    sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  });

  afterEach(() => {
    sinon.restore();
  });

  describe('fanOut, a room within the threshold (or no queue)', () => {
    it('posts directly to every connection of every page, leaving out those skipped', async () => {
      // Prepare
      roomPages(connectionItems(3, 'a'), connectionItems(2, 'b'));

      // Act
      const result = await fanOut('lobby', MESSAGE, { skip: (r) => r.connectionId === 'a1' });

      // Assess
      expect(result).to.deep.equal({ mode: 'direct', attempted: 4, delivered: 4, gone: 0, failed: 0, handedOff: 0, shards: 0 });
      expect(
        posts()
          .map((p) => p.to)
          .sort(),
      ).to.deep.equal(['a0', 'a2', 'b0', 'b1']);
      expect(sqsMock.calls()).to.have.length(0);
    });

    it('serves a large room directly when no fan-out queue is configured', async () => {
      // Prepare
      sinon.replace(config, 'FANOUT_THRESHOLD', 3);
      roomPages(connectionItems(4, 'a'), connectionItems(4, 'b'));

      // Act
      const result = await fanOut('lobby', MESSAGE, {});

      // Assess
      expect(config.FANOUT_QUEUE_URL).to.equal(undefined);
      expect(result).to.deep.include({ mode: 'direct', delivered: 8 });
      expect(sqsMock.calls()).to.have.length(0);
    });
  });

  describe('fanOut without a queue', () => {
    it('without a queue, posts to everyone whatever the time (nowhere to hand them)', async () => {
      // Prepare
      roomPages(connectionItems(4, 'a'));
      const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
      apiMock.on(PostToConnectionCommand).callsFake(() => {
        clock.tick(1000);
        return {};
      });
      const budget = { getRemainingTimeInMillis: () => 0 };

      // Act
      const result = await fanOut('lobby', MESSAGE, { budget });

      // Assess
      expect(result).to.deep.include({ delivered: 4, handedOff: 0 });
      expect(sqsMock.calls()).to.have.length(0);
    });
  });

  describe("fanOut within the invocation's time (direct fan-out hands the rest to the queue)", () => {
    beforeEach(() => {
      sinon.define(config, 'FANOUT_QUEUE_URL', QUEUE_URL);
      sinon.replace(config, 'FANOUT_SHARD_SIZE', 2);
    });

    /** An invocation with `ms` left, whose posts each take 1000 ms of (fake) wall-clock time, one at a time. */
    function budgetWithSlowPosts(ms: number): { getRemainingTimeInMillis: () => number } {
      const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
      const end = Date.now() + ms;
      apiMock.on(PostToConnectionCommand).callsFake(() => {
        clock.tick(1000);
        return {};
      });
      sinon.replace(config, 'FANOUT_CONCURRENCY', 1);
      return { getRemainingTimeInMillis: () => end - Date.now() };
    }

    it("posts while POST_TIMEOUT_MS, and the reserve (HANDOFF_RESERVE_MS and a confirmation's POST_TIMEOUT_MS), fit in the remaining time, then queues the others, each once", async () => {
      // Prepare: 3000 (post timeout) + 1500 and 3000 (the reserve, a confirmation's post included) + 2500: posts start at 0, 1000 and 2000 ms
      roomPages(connectionItems(7, 'a'));
      const budget = budgetWithSlowPosts(2 * POST_TIMEOUT + HANDOFF_RESERVE_MS + 2500);

      // Act
      const result = await fanOut('lobby', MESSAGE, { budget, skip: (r) => r.connectionId === 'a6' });

      // Assess
      expect(posts().map((p) => p.to)).to.deep.equal(['a0', 'a1', 'a2']);
      expect(queuedShards()).to.deep.equal([
        {
          frame: MESSAGE,
          recipients: [
            ['a3', 'plain', CONNECTED_AT],
            ['a4', 'plain', CONNECTED_AT],
          ],
        },
        { frame: MESSAGE, recipients: [['a5', 'plain', CONNECTED_AT]] },
      ]);
      expect(result).to.deep.equal({ mode: 'direct', attempted: 3, delivered: 3, gone: 0, failed: 0, handedOff: 3, shards: 2 });
    });

    it('queues nothing when the time suffices', async () => {
      // Prepare
      roomPages(connectionItems(3, 'a'));
      const budget = budgetWithSlowPosts(10_000);

      // Act
      const result = await fanOut('lobby', MESSAGE, { budget });

      // Assess
      expect(result).to.deep.include({ delivered: 3, handedOff: 0, shards: 0 });
      expect(sqsMock.calls()).to.have.length(0);
    });

    it('tells onFailure of the posts that failed and hands the recipients not reached to the queue: each recipient one or the other', async () => {
      // Prepare: the second post is throttled past the SDK's retries (at once); the others take
      // 1000 ms each, so posts start at 0, 1000, 1000 and 2000 ms, and no later one fits
      roomPages(connectionItems(6, 'a'));
      const budget = budgetWithSlowPosts(2 * POST_TIMEOUT + HANDOFF_RESERVE_MS + 2500);
      apiMock
        .on(PostToConnectionCommand, { ConnectionId: 'a1' })
        .rejects(new LimitExceededException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } }));
      const failed: Recipient[] = [];

      // Act
      const result = await fanOut('lobby', MESSAGE, { budget, onFailure: (recipient) => failed.push(recipient) });

      // Assess
      expect(failed.map((r) => r.connectionId)).to.deep.equal(['a1']);
      expect(queuedShards().flatMap((shard) => shard.recipients.map(([id]) => id))).to.deep.equal(['a4', 'a5']);
      expect(result).to.deep.include({ attempted: 4, delivered: 3, failed: 1, handedOff: 2 });
    });

    it('serveShard (the fan-out function) queues the recipients of its shard it had no time for', async () => {
      // Prepare
      const budget = budgetWithSlowPosts(2 * POST_TIMEOUT + HANDOFF_RESERVE_MS + 1500);
      const shard: Shard = {
        frame: MESSAGE,
        recipients: [
          ['s0', 'plain'],
          ['s1', 'chat.v1', 7],
          ['s2', 'chat.v1', 8],
        ],
      };

      // Act
      const result = await serveShard(shard, budget);

      // Assess
      expect(posts().map((p) => p.to)).to.deep.equal(['s0', 's1']);
      expect(queuedShards()).to.deep.equal([{ frame: MESSAGE, recipients: [['s2', 'chat.v1', 8]] }]);
      expect(result).to.deep.include({ delivered: 2, handedOff: 1, shards: 1 });
    });
  });

  describe('fanOut, a room above the threshold with a queue', () => {
    beforeEach(() => {
      sinon.define(config, 'FANOUT_QUEUE_URL', QUEUE_URL);
      sinon.replace(config, 'FANOUT_THRESHOLD', 5);
      sinon.replace(config, 'FANOUT_SHARD_SIZE', 3);
    });

    it('queues the whole room in shards of FANOUT_SHARD_SIZE, posting nothing itself', async () => {
      // Prepare: the threshold is crossed on the 2nd page; the 3rd is read afterwards
      roomPages(connectionItems(4, 'a'), connectionItems(4, 'b', { protocol: 'chat.v1' }), connectionItems(3, 'c'));

      // Act
      const result = await fanOut('lobby', MESSAGE, { skip: (r) => r.connectionId === 'c0' });

      // Assess
      expect(result).to.deep.equal({ mode: 'queued', recipients: 10, shards: 4 });
      expect(apiMock.calls()).to.have.length(0);
      const calls = sqsMock.commandCalls(SendMessageBatchCommand);
      expect(calls).to.have.length(1);
      expect(calls[0]?.args[0].input.QueueUrl).to.equal(QUEUE_URL);
      expect(calls[0]?.args[0].input.Entries?.map((e) => e.Id)).to.deep.equal(['0', '1', '2', '3']);
      const shards = queuedShards();
      expect(shards.map((s) => s.frame)).to.deep.equal([MESSAGE, MESSAGE, MESSAGE, MESSAGE]);
      expect(shards.map((s) => s.recipients)).to.deep.equal([
        [
          ['a0', 'plain', CONNECTED_AT],
          ['a1', 'plain', CONNECTED_AT],
          ['a2', 'plain', CONNECTED_AT],
        ],
        [
          ['a3', 'plain', CONNECTED_AT],
          ['b0', 'chat.v1', CONNECTED_AT],
          ['b1', 'chat.v1', CONNECTED_AT],
        ],
        [
          ['b2', 'chat.v1', CONNECTED_AT],
          ['b3', 'chat.v1', CONNECTED_AT],
          ['c1', 'plain', CONNECTED_AT],
        ],
        [['c2', 'plain', CONNECTED_AT]],
      ]);
    });

    it('announce skips a large room altogether (presence)', async () => {
      // Prepare
      roomPages(connectionItems(4, 'a'), connectionItems(4, 'b'), connectionItems(4, 'c'));

      // Act
      const result = await announce('lobby', { type: 'presence', event: 'join', room: 'lobby', name: 'x' });

      // Assess
      expect(result).to.deep.equal({ mode: 'skipped', recipients: 8 });
      expect(apiMock.calls()).to.have.length(0);
      expect(sqsMock.calls()).to.have.length(0);
      const limits = ddbMock.commandCalls(QueryCommand).map((call) => call.args[0].input.Limit);
      expect(limits).to.deep.equal([config.FANOUT_THRESHOLD + 1, config.FANOUT_THRESHOLD + 1]);
    });

    it('sends at most 10 shards per SendMessageBatch', async () => {
      // Prepare: shards of one recipient, 25 of them
      sinon.restore();
      sinon.define(config, 'FANOUT_QUEUE_URL', QUEUE_URL);
      sinon.replace(config, 'FANOUT_THRESHOLD', 5);
      sinon.replace(config, 'FANOUT_SHARD_SIZE', 1);
      roomPages(connectionItems(25));

      // Act
      const result = await fanOut('lobby', MESSAGE, {});

      // Assess
      expect(result).to.deep.equal({ mode: 'queued', recipients: 25, shards: 25 });
      const sizes = sqsMock.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries?.length);
      expect(sizes).to.deep.equal([10, 10, 5]);
      expect(queuedShards().map((s) => s.recipients[0]?.[0])).to.deep.equal(connectionItems(25).map((i) => i.connectionId?.S));
    });

    it('keeps each SendMessageBatch within 256 KiB', async () => {
      // Prepare: shards of 2,000 recipients with long ids, ~110 KB each
      sinon.restore();
      sinon.define(config, 'FANOUT_QUEUE_URL', QUEUE_URL);
      sinon.replace(config, 'FANOUT_THRESHOLD', 5);
      sinon.replace(config, 'FANOUT_SHARD_SIZE', 2000);
      roomPages(connectionItems(10_000, `${'x'.repeat(40)}-`));

      // Act
      const result = await fanOut('lobby', MESSAGE, {});

      // Assess
      expect(result).to.deep.equal({ mode: 'queued', recipients: 10_000, shards: 5 });
      const batches = sqsMock.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries ?? []);
      expect(batches.length).to.be.greaterThan(1);
      for (const entries of batches) {
        const bytes = entries.reduce((sum, e) => sum + Buffer.byteLength(e.MessageBody ?? '', 'utf8'), 0);
        expect(bytes).to.be.at.most(256 * 1024);
      }
      expect(queuedShards().flatMap((s) => s.recipients)).to.have.length(10_000);
    });

    it('retries the entries SQS refused, and only those', async () => {
      // Prepare
      const clock = sinon.useFakeTimers({ toFake: ['setTimeout'] });
      roomPages(connectionItems(9));
      sqsMock
        .on(SendMessageBatchCommand)
        .resolvesOnce({ Successful: [], Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }] })
        .resolves({ Successful: [], Failed: [] });

      // Act
      const done = fanOut('lobby', MESSAGE, {});
      await clock.tickAsync(100);
      const result = await done;

      // Assess
      expect(result).to.deep.equal({ mode: 'queued', recipients: 9, shards: 3 });
      const calls = sqsMock.commandCalls(SendMessageBatchCommand);
      expect(calls).to.have.length(2);
      expect(calls[1]?.args[0].input.Entries?.map((e) => e.Id)).to.deep.equal(['1']);
      expect(JSON.parse(calls[1]?.args[0].input.Entries?.[0]?.MessageBody ?? '').recipients).to.deep.equal([
        ['conn-3', 'plain', CONNECTED_AT],
        ['conn-4', 'plain', CONNECTED_AT],
        ['conn-5', 'plain', CONNECTED_AT],
      ]);
    });

    it('fails after 5 refused attempts rather than dropping shards silently', async () => {
      // Prepare
      const clock = sinon.useFakeTimers({ toFake: ['setTimeout'] });
      roomPages(connectionItems(6));
      sqsMock.on(SendMessageBatchCommand).resolves({ Failed: [{ Id: '0', Code: 'InternalError', SenderFault: false }] });

      // Act
      const done = expectRejection(fanOut('lobby', MESSAGE, {}));
      await clock.tickAsync(100 + 200 + 400 + 800);
      const error = await done;

      // Assess
      expect(error.message).to.equal('1 fan-out shards could not be queued');
      expect(sqsMock.commandCalls(SendMessageBatchCommand)).to.have.length(5);
    });
  });

  describe("the sender's confirmation travels with the shards (confirmation.ts)", () => {
    beforeEach(() => {
      sinon.define(config, 'FANOUT_QUEUE_URL', QUEUE_URL);
      sinon.replace(config, 'FANOUT_THRESHOLD', 5);
      sinon.replace(config, 'FANOUT_SHARD_SIZE', 3);
    });

    it('a large room: counts each batch before it is sent, with one held until all are queued; confirms nothing yet', async () => {
      // Prepare: 25 recipients, 9 shards of 3: one batch
      roomPages(connectionItems(25, 'a'));
      const count = shardCount();

      // Act
      const result = await fanOut('lobby', MESSAGE, { confirm: SENDER });

      // Assess
      expect(count.changes).to.deep.equal([10, -1]);
      expect(count.left()).to.equal(9);
      expect(queuedShards().every((shard) => JSON.stringify(shard.confirm) === JSON.stringify(SENDER))).to.equal(true);
      expect(confirmationQueued(result)).to.equal(true);
      expect(posts()).to.deep.equal([]);
    });

    it('the last shard served confirms to the sender, with its clientId, after its own posts; the others do not', async () => {
      // Prepare: two shards queued
      roomPages(connectionItems(6, 'a'));
      const count = shardCount();
      await fanOut('lobby', MESSAGE, { confirm: SENDER });
      const [first, second] = queuedShards();
      const budget = { getRemainingTimeInMillis: () => 60_000 };

      // Act
      await serveShard(first as Shard, budget);
      const afterFirst = posts().map((p) => p.to);
      await serveShard(second as Shard, budget);

      // Assess
      expect(afterFirst).to.deep.equal(['a0', 'a1', 'a2']);
      expect(posts().map((p) => p.to)).to.deep.equal(['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'sender']);
      expect(JSON.parse(posts().at(-1)?.text ?? '')).to.deep.equal({ ...MESSAGE, clientId: 'c-1' });
      expect(count.left()).to.equal(0);
    });

    it("shards all served before the queueing side let go of its hold: the hold's release confirms", async () => {
      // Prepare: the count already went down by the two shards (served at once elsewhere)
      roomPages(connectionItems(6, 'a'));
      const count = shardCount();
      ddbMock.on(UpdateItemCommand).callsFake((input: { ExpressionAttributeValues: Record<string, { N: string }> }) => {
        const change = Number(input.ExpressionAttributeValues[':change']?.N);
        count.changes.push(change);
        // The batch's +3 (2 shards and the hold) lands after both shards' -1
        const left = change === 3 ? 1 : 0;
        return { Attributes: { shardsLeft: { N: String(left) } } };
      });

      // Act
      await fanOut('lobby', MESSAGE, { confirm: SENDER });

      // Assess
      expect(count.changes).to.deep.equal([3, -1]);
      expect(posts().map((p) => p.to)).to.deep.equal(['sender']);
    });

    it('a shard put back in smaller shards (no time for all) counts them before it counts itself served', async () => {
      // Prepare: posts take 1 s; time for 2 of the shard's 3 recipients
      const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
      const end = Date.now() + 2 * POST_TIMEOUT + HANDOFF_RESERVE_MS + 1500;
      apiMock.on(PostToConnectionCommand).callsFake(() => {
        clock.tick(1000);
        return {};
      });
      sinon.replace(config, 'FANOUT_CONCURRENCY', 1);
      const count = shardCount(2); // this shard, and another of the message not served yet
      const shard: Shard = {
        frame: MESSAGE,
        recipients: [
          ['s0', 'plain'],
          ['s1', 'plain'],
          ['s2', 'plain'],
        ],
        confirm: SENDER,
      };

      // Act
      await serveShard(shard, { getRemainingTimeInMillis: () => end - Date.now() });

      // Assess: +1 for the new shard and +1 held, the hold released, then this one done
      expect(count.changes).to.deep.equal([2, -1, -1]);
      expect(count.left()).to.equal(2);
      expect(queuedShards()).to.deep.equal([{ frame: MESSAGE, recipients: [['s2', 'plain']], confirm: SENDER }]);
      expect(posts().map((p) => p.to)).to.deep.equal(['s0', 's1']);
    });

    it('a room served directly counts nothing: the caller confirms (confirmationQueued is false)', async () => {
      // Prepare
      roomPages(connectionItems(3, 'a'));

      // Act
      const result = await fanOut('lobby', MESSAGE, { confirm: SENDER });

      // Assess
      expect(confirmationQueued(result)).to.equal(false);
      expect(ddbMock.commandCalls(UpdateItemCommand)).to.have.length(0);
    });
  });

  describe('parseQueueMessage', () => {
    it('tells a presence flush from a shard, and refuses anything else', () => {
      // Prepare
      const shard: Shard = { frame: MESSAGE, recipients: [['a', 'plain']] };

      // Act
      const presence = parseQueueMessage('{"presence":{"room":"dev","token":"1:x"}}');
      const sharded = parseQueueMessage(JSON.stringify(shard));
      const redelivery = parseQueueMessage(JSON.stringify({ ...shard, redelivery: 2 }));

      // Assess
      expect(presence).to.deep.equal({ kind: 'presence', room: 'dev', token: '1:x' });
      expect(sharded).to.deep.equal({ kind: 'shard', shard });
      expect(redelivery).to.deep.equal({ kind: 'shard', shard: { ...shard, redelivery: 2 } });
      expect(expectThrow(() => parseQueueMessage('{"presence":{"room":3}}')).message).to.equal('not a fan-out shard');
    });
  });

  describe('parseShard / shardRecipients', () => {
    it('reads a shard back into broadcast recipients', () => {
      // Prepare
      const body = JSON.stringify({
        frame: MESSAGE,
        recipients: [
          ['c1', 'plain', CONNECTED_AT],
          ['c2', 'chat.v1', CONNECTED_AT],
        ],
      });

      // Act
      const shard = parseShard(body);

      // Assess
      expect(shard.frame).to.deep.equal(MESSAGE);
      expect(shardRecipients(shard)).to.deep.equal([
        { connectionId: 'c1', protocol: 'plain', connectedAt: CONNECTED_AT },
        { connectionId: 'c2', protocol: 'chat.v1', connectedAt: CONNECTED_AT },
      ]);
    });

    it('refuses a body that is not a shard', () => {
      // Assess
      expect(expectThrow(() => parseShard('{"frame":null,"recipients":[]}')).message).to.equal('not a fan-out shard');
      expect(expectThrow(() => parseShard('{"frame":{}}')).message).to.equal('not a fan-out shard');
      expect(expectThrow(() => parseShard('not json'))).to.be.instanceOf(SyntaxError);
      expect(expectThrow(() => parseShard(JSON.stringify({ frame: MESSAGE, recipients: [], redelivery: '1' }))).message).to.match(
        /^not a fan-out shard/,
      );
      expect(expectThrow(() => parseShard(JSON.stringify({ frame: MESSAGE, recipients: [], stalled: -1 }))).message).to.match(
        /^not a fan-out shard/,
      );
      for (const confirm of [
        null,
        'sender',
        { protocol: 'chat.v1' },
        { connectionId: 'x', protocol: 'v2' },
        { connectionId: 'x', protocol: 'plain', clientId: 7 },
      ]) {
        expect(expectThrow(() => parseShard(JSON.stringify({ frame: MESSAGE, recipients: [], confirm }))).message).to.match(
          /^not a fan-out shard/,
        );
      }
      expect(parseShard(JSON.stringify({ frame: MESSAGE, recipients: [], confirm: SENDER })).confirm).to.deep.equal(SENDER);
    });
  });
});
