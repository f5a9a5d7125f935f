import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { expect } from 'chai';
import { config, flushPresence, notePresence } from 'chat-core';
import { LOST_FLUSH_MS, MAX_PENDING_CHANGES } from '../../../layers/chat-core/src/presence/presence';
import { type PresenceDue } from '../../../layers/chat-core/src/delivery/shards';
import sinon from 'sinon';
import { type Item, apiMock, connectionItem, ddbMock, fakePresenceItems, framesTo, posts, resetMocks, sqsMock } from '../helpers';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/fanout';
const NOW = 1_700_000_000_000;

const member = (connectionId: string, name: string, protocol: 'plain' | 'chat.v1' = 'chat.v1'): Item =>
  connectionItem({ connectionId, room: 'dev', name, protocol });
const join = (name: string): { event: 'join'; name: string } => ({ event: 'join', name });
const leave = (name: string): { event: 'leave'; name: string } => ({ event: 'leave', name });
const v1 = (connectionId: string): { connectionId: string; protocol: 'chat.v1' } => ({ connectionId, protocol: 'chat.v1' });

/** The presence flushes queued, in order: their delay and body. */
function queued(): { delay: number | undefined; body: PresenceDue }[] {
  return sqsMock.commandCalls(SendMessageCommand).map((call) => ({
    delay: call.args[0].input.DelaySeconds,
    body: JSON.parse(call.args[0].input.MessageBody ?? '') as PresenceDue,
  }));
}

describe('layer: presence (coalesced per room)', () => {
  let items: ReturnType<typeof fakePresenceItems>;

  beforeEach(() => {
    resetMocks();
    items = fakePresenceItems();
    apiMock.on(PostToConnectionCommand).resolves({});
    sqsMock.on(SendMessageCommand).resolves({});
    ddbMock.on(QueryCommand).resolves({ Items: [member('ann-1', 'ann'), member('bob-1', 'bob'), member('cy-1', 'cy', 'plain')] });
  });

  afterEach(() => {
    sinon.restore();
  });

  describe('with the fan-out queue as the timer', () => {
    beforeEach(() => {
      sinon.define(config, 'FANOUT_QUEUE_URL', QUEUE_URL);
    });

    it('the first notice schedules one flush at once; the next ones in its interval ride along, and nobody is posted to yet', async () => {
      // Act
      await notePresence('dev', join('ann'), v1('ann-1'), undefined, NOW);
      await notePresence('dev', join('bob'), v1('bob-1'), undefined, NOW + 10);
      await notePresence('dev', leave('dan'), v1('dan-1'), undefined, NOW + 20);

      // Assess
      expect(queued()).to.have.length(1);
      expect(queued()[0]?.delay).to.equal(0);
      expect(queued()[0]?.body.presence.room).to.equal('dev');
      expect(items.get('presence#dev')?.changes).to.have.length(3);
      expect(posts()).to.deep.equal([]);
    });

    it('a notice after a flush waits for the rest of the interval (PRESENCE_INTERVAL_SECONDS after it)', async () => {
      // Prepare
      await notePresence('dev', join('ann'), v1('ann-1'), undefined, NOW);
      await flushPresence('dev', queued()[0]?.body.presence.token ?? '', undefined, NOW + 50);
      sqsMock.resetHistory();

      // Act
      await notePresence('dev', join('bob'), v1('bob-1'), undefined, NOW + 350);

      // Assess: the interval is 1 s (test/setup.ts); 700 ms of it are left, SQS delays in whole seconds
      expect(queued().map((q) => q.delay)).to.deep.equal([1]);
    });

    it('a flush sends the batch in one frame to the chat.v1 members; whoever came during the batch only what changed after it came, never its own join', async () => {
      // Prepare
      ddbMock.on(QueryCommand).resolves({
        Items: [
          connectionItem({ connectionId: 'ann-1', room: 'dev', name: 'ann', protocol: 'chat.v1', connectedAt: NOW - 1 }),
          connectionItem({ connectionId: 'bob-1', room: 'dev', name: 'bob', protocol: 'chat.v1', connectedAt: NOW + 9 }),
          connectionItem({ connectionId: 'eve-1', room: 'dev', name: 'eve', protocol: 'chat.v1', connectedAt: NOW + 15 }),
          member('cy-1', 'cy', 'plain'),
          member('old-1', 'old'),
        ],
      });
      await notePresence('dev', join('ann'), v1('ann-1'), undefined, NOW);
      await notePresence('dev', join('bob'), v1('bob-1'), undefined, NOW + 10);
      await notePresence('dev', leave('dan'), v1('dan-1'), undefined, NOW + 20);
      const token = queued()[0]?.body.presence.token ?? '';

      // Act
      const result = await flushPresence('dev', token, undefined, NOW + 1000);

      // Assess
      expect(result).to.deep.include({ mode: 'direct', delivered: 1 });
      expect(framesTo('old-1')).to.deep.equal([
        {
          type: 'presence',
          room: 'dev',
          changes: [
            { event: 'join', name: 'ann' },
            { event: 'join', name: 'bob' },
            { event: 'leave', name: 'dan' },
          ],
        },
      ]);
      expect(framesTo('ann-1')).to.deep.equal([
        {
          type: 'presence',
          room: 'dev',
          changes: [
            { event: 'join', name: 'bob' },
            { event: 'leave', name: 'dan' },
          ],
        },
      ]);
      expect(framesTo('bob-1')).to.deep.equal([{ type: 'presence', room: 'dev', event: 'leave', name: 'dan' }]);
      expect(framesTo('eve-1')).to.deep.equal([{ type: 'presence', room: 'dev', event: 'leave', name: 'dan' }]);
      expect(
        posts()
          .map((p) => p.to)
          .sort(),
      ).to.deep.equal(['ann-1', 'bob-1', 'eve-1', 'old-1']);
      expect(items.get('presence#dev')).to.deep.equal({ changes: [], lastFlushAt: NOW + 1000 });
    });

    it('one notice alone keeps the original frame shape', async () => {
      // Prepare
      await notePresence('dev', leave('dan'), v1('dan-1'), undefined, NOW);

      // Act
      await flushPresence('dev', queued()[0]?.body.presence.token ?? '', undefined, NOW + 5);

      // Assess
      expect(framesTo('ann-1')).to.deep.equal([{ type: 'presence', event: 'leave', room: 'dev', name: 'dan' }]);
    });

    it('a flush delivered twice sends once', async () => {
      // Prepare
      await notePresence('dev', leave('dan'), v1('dan-1'), undefined, NOW);
      const token = queued()[0]?.body.presence.token ?? '';
      await flushPresence('dev', token, undefined, NOW + 5);
      apiMock.resetHistory();

      // Act
      const again = await flushPresence('dev', token, undefined, NOW + 6);

      // Assess
      expect(again).to.equal(undefined);
      expect(posts()).to.deep.equal([]);
    });

    it(`keeps at most ${MAX_PENDING_CHANGES} notices per frame and says the batch is incomplete`, async () => {
      // Prepare
      for (let i = 0; i <= MAX_PENDING_CHANGES; i += 1) await notePresence('dev', join(`p${i}`), v1(`p-${i}`), undefined, NOW + i);

      // Act
      await flushPresence('dev', queued()[0]?.body.presence.token ?? '', undefined, NOW + 1000);

      // Assess
      const [frame] = framesTo('ann-1') as [{ changes: unknown[]; incomplete?: boolean }];
      expect(frame.changes).to.have.length(MAX_PENDING_CHANGES);
      expect(frame.incomplete).to.equal(true);
      expect(queued()).to.have.length(1);
    });

    it('a room over FANOUT_THRESHOLD gets no presence, and its notices are dropped', async () => {
      // Prepare
      sinon.replace(config, 'FANOUT_THRESHOLD', 2);
      await notePresence('dev', leave('dan'), v1('dan-1'), undefined, NOW);

      // Act
      const result = await flushPresence('dev', queued()[0]?.body.presence.token ?? '', undefined, NOW + 5);

      // Assess
      expect(result).to.deep.equal({ mode: 'skipped', recipients: 3 });
      expect(posts()).to.deep.equal([]);
      expect(items.get('presence#dev')?.changes).to.deep.equal([]);
    });

    it('takes over a schedule whose flush never came (its message lost), and schedules again', async () => {
      // Prepare
      await notePresence('dev', join('ann'), v1('ann-1'), undefined, NOW);
      const lost = queued()[0]?.body.presence.token;

      // Act
      await notePresence('dev', join('bob'), v1('bob-1'), undefined, NOW + LOST_FLUSH_MS + 1);

      // Assess
      expect(queued()).to.have.length(2);
      expect(queued()[1]?.body.presence.token).to.not.equal(lost);
      expect(items.get('presence#dev')?.scheduled).to.equal(queued()[1]?.body.presence.token);
      expect(await flushPresence('dev', lost ?? '', undefined, NOW + LOST_FLUSH_MS + 2)).to.equal(undefined);
    });

    it('a flush that cannot be queued is unscheduled (the next notice tries again), and never fails the caller', async () => {
      // Prepare
      sqsMock.on(SendMessageCommand).rejectsOnce(new Error('SQS unavailable')).resolves({});

      // Act
      await notePresence('dev', join('ann'), v1('ann-1'), undefined, NOW);
      await notePresence('dev', join('bob'), v1('bob-1'), undefined, NOW + 10);

      // Assess
      expect(sqsMock.commandCalls(SendMessageCommand)).to.have.length(2);
      expect(items.get('presence#dev')?.changes).to.have.length(2);
    });
  });

  it('without a queue, each notice is sent at once', async () => {
    // Act
    await notePresence('dev', join('eve'), v1('eve-1'), undefined, NOW);

    // Assess
    expect(sqsMock.calls()).to.have.length(0);
    expect(framesTo('ann-1')).to.deep.equal([{ type: 'presence', event: 'join', room: 'dev', name: 'eve' }]);
  });
});
