import {
  ApiGatewayManagementApiServiceException,
  ForbiddenException,
  GoneException,
  PostToConnectionCommand,
  type PostToConnectionCommandInput,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import { type Frame, type Recipient } from 'chat-core';
import { EncodedFrame, LANES_PER_TURN, broadcast, reply } from '../../../layers/chat-core/src/delivery/broadcast';
import sinon from 'sinon';
import { apiMock, ddbMock, deferred, expectRejection, flush, posts, resetMocks, watch, MESSAGE_FRAME } from '../helpers';

const TABLE = 'connections-table';

const MESSAGE = MESSAGE_FRAME;
const JOIN: Frame = { type: 'presence', event: 'join', room: 'lobby', name: 'alice' };

function recipients(count: number, prefix = 'c', protocol: Recipient['protocol'] = 'plain'): Recipient[] {
  return Array.from({ length: count }, (_, i) => ({ connectionId: `${prefix}${i}`, protocol }));
}

function gone(): GoneException {
  return new GoneException({ message: 'Gone', $metadata: {} });
}

function internalError(): ApiGatewayManagementApiServiceException {
  return new ApiGatewayManagementApiServiceException({
    name: 'InternalServerError',
    $fault: 'server',
    message: 'Internal server error',
    $metadata: { httpStatusCode: 500 },
  });
}

/** The connection ids of every BatchWriteItem delete, flattened. */
function deletedIds(): string[] {
  return ddbMock
    .commandCalls(BatchWriteItemCommand)
    .flatMap((call) => call.args[0].input.RequestItems?.[TABLE] ?? [])
    .map((request) => request.DeleteRequest?.Key?.connectionId?.S ?? '?');
}

describe('layer: broadcast', () => {
  let clock: sinon.SinonFakeTimers | undefined;

  beforeEach(() => {
    resetMocks();
    ddbMock.on(BatchWriteItemCommand).resolves({});
  });

  afterEach(() => {
    clock?.restore();
    clock = undefined;
  });

  describe('EncodedFrame', () => {
    it('encodes once per protocol and hands out the same bytes', () => {
      // Prepare
      const encoded = new EncodedFrame(MESSAGE);

      // Act
      const plain = encoded.for('plain');
      const json = encoded.for('chat.v1');

      // Assess
      expect(Buffer.from(plain ?? []).toString('utf8')).to.equal('hello, everyone!');
      expect(JSON.parse(Buffer.from(json ?? []).toString('utf8'))).to.deep.equal(MESSAGE);
      expect(encoded.for('plain')).to.equal(plain);
      expect(encoded.for('chat.v1')).to.equal(json);
    });

    it('is undefined for a protocol that does not receive the frame', () => {
      // Assess
      expect(new EncodedFrame(JOIN).for('plain')).to.equal(undefined);
    });
  });

  describe('broadcast', () => {
    it('posts the frame to every recipient, each in its protocol', async () => {
      // Prepare
      apiMock.on(PostToConnectionCommand).resolves({});

      // Act
      const result = await broadcast(
        [
          [
            { connectionId: 'p1', protocol: 'plain' },
            { connectionId: 'j1', protocol: 'chat.v1' },
          ],
        ],
        MESSAGE,
      );

      // Assess
      expect(result).to.deep.equal({ attempted: 2, delivered: 2, gone: 0, failed: 0, unsent: [] });
      expect(posts()).to.deep.equal([
        { to: 'p1', text: 'hello, everyone!' },
        { to: 'j1', text: JSON.stringify(MESSAGE) },
      ]);
      expect(ddbMock.commandCalls(BatchWriteItemCommand)).to.have.length(0);
    });

    it('serializes once per protocol, not once per recipient', async () => {
      // Prepare
      apiMock.on(PostToConnectionCommand).resolves({});

      // Act
      await broadcast([[...recipients(5, 'j', 'chat.v1'), ...recipients(5, 'p', 'plain')]], MESSAGE);

      // Assess: the same bytes (one object) for every recipient of a protocol
      const data = apiMock.commandCalls(PostToConnectionCommand).map((call) => call.args[0].input.Data);
      expect(data).to.have.length(10);
      expect(new Set(data.slice(0, 5)).size).to.equal(1);
      expect(new Set(data.slice(5)).size).to.equal(1);
      expect(data[0]).not.to.equal(data[5]);
    });

    it('sends presence to chat.v1 recipients only', async () => {
      // Prepare
      apiMock.on(PostToConnectionCommand).resolves({});

      // Act
      const result = await broadcast([[...recipients(2, 'p', 'plain'), ...recipients(2, 'j', 'chat.v1')]], JOIN);

      // Assess
      expect(result).to.deep.equal({ attempted: 2, delivered: 2, gone: 0, failed: 0, unsent: [] });
      expect(posts().map((p) => p.to)).to.deep.equal(['j0', 'j1']);
      expect(JSON.parse(posts()[0]?.text ?? '')).to.deep.equal({ type: 'presence', event: 'join', room: 'lobby', name: 'alice' });
    });

    it('leaves out the recipients `skip` selects', async () => {
      // Prepare
      apiMock.on(PostToConnectionCommand).resolves({});

      // Act
      const result = await broadcast([recipients(4)], MESSAGE, { skip: (r) => r.connectionId === 'c2' });

      // Assess
      expect(result.attempted).to.equal(3);
      expect(posts().map((p) => p.to)).to.deep.equal(['c0', 'c1', 'c3']);
    });

    it('reaches the recipients of every page of an async source', async () => {
      // Prepare
      apiMock.on(PostToConnectionCommand).resolves({});
      async function* pages(): AsyncGenerator<Recipient[]> {
        yield recipients(3, 'a');
        await flush();
        yield [];
        yield recipients(2, 'b');
      }

      // Act
      const result = await broadcast(pages(), MESSAGE);

      // Assess
      expect(result.delivered).to.equal(5);
      expect(
        posts()
          .map((p) => p.to)
          .sort(),
      ).to.deep.equal(['a0', 'a1', 'a2', 'b0', 'b1']);
    });

    it('does nothing for an empty room', async () => {
      // Act
      const result = await broadcast([[]], MESSAGE);

      // Assess
      expect(result).to.deep.equal({ attempted: 0, delivered: 0, gone: 0, failed: 0, unsent: [] });
      expect(apiMock.calls()).to.have.length(0);
      expect(ddbMock.calls()).to.have.length(0);
    });

    it('deletes exactly the connections that answered 410 Gone, in one batch, afterwards', async () => {
      // Prepare
      apiMock.on(PostToConnectionCommand).resolves({});
      apiMock.on(PostToConnectionCommand, { ConnectionId: 'c1' }).rejects(gone());
      apiMock.on(PostToConnectionCommand, { ConnectionId: 'c4' }).rejects(gone());

      // Act
      const result = await broadcast([recipients(6)], MESSAGE);

      // Assess
      expect(result).to.deep.equal({ attempted: 6, delivered: 4, gone: 2, failed: 0, unsent: [] });
      expect(ddbMock.commandCalls(BatchWriteItemCommand)).to.have.length(1);
      expect(deletedIds().sort()).to.deep.equal(['c1', 'c4']);
    });

    it('does not delete a connection that answers 410 while its $connect may still be running', async () => {
      // Prepare: c0 connected a second ago (API Gateway answers 410 until $connect returns), c1 long ago
      apiMock.on(PostToConnectionCommand).rejects(gone());
      const joining: Recipient = { connectionId: 'c0', protocol: 'chat.v1', connectedAt: Date.now() - 1000 };
      const old: Recipient = { connectionId: 'c1', protocol: 'chat.v1', connectedAt: Date.now() - 60_000 };

      // Act
      const result = await broadcast([[joining, old]], MESSAGE);

      // Assess
      expect(result).to.deep.equal({ attempted: 2, delivered: 0, gone: 1, failed: 1, unsent: [] });
      expect(deletedIds()).to.deep.equal(['c1']);
    });

    it('deletes stale connections from every page in batches of 25', async () => {
      // Prepare
      apiMock.on(PostToConnectionCommand).rejects(gone());

      // Act
      const result = await broadcast([recipients(20, 'a'), recipients(20, 'b')], MESSAGE);

      // Assess
      expect(result.gone).to.equal(40);
      expect(ddbMock.commandCalls(BatchWriteItemCommand)).to.have.length(2);
      expect(deletedIds().sort()).to.deep.equal([...recipients(20, 'a'), ...recipients(20, 'b')].map((r) => r.connectionId).sort());
    });

    it('counts a failing recipient (500) and goes on with the rest, deleting nothing', async () => {
      // Prepare
      apiMock.on(PostToConnectionCommand).resolves({});
      apiMock.on(PostToConnectionCommand, { ConnectionId: 'c3' }).rejects(internalError());

      // Act
      const result = await broadcast([recipients(10)], MESSAGE);

      // Assess
      expect(result).to.deep.equal({ attempted: 10, delivered: 9, gone: 0, failed: 1, unsent: [] });
      expect(apiMock.commandCalls(PostToConnectionCommand)).to.have.length(10);
      expect(ddbMock.commandCalls(BatchWriteItemCommand)).to.have.length(0);
    });

    it('does not take a 403 for gone', async () => {
      // Prepare
      apiMock.on(PostToConnectionCommand).rejects(new ForbiddenException({ message: 'Forbidden', $metadata: { httpStatusCode: 403 } }));

      // Act
      const result = await broadcast([recipients(2)], MESSAGE);

      // Assess
      expect(result).to.deep.equal({ attempted: 2, delivered: 0, gone: 0, failed: 2, unsent: [] });
      expect(ddbMock.commandCalls(BatchWriteItemCommand)).to.have.length(0);
    });

    it('still resolves with its counts when the stale connections cannot be deleted', async () => {
      // Prepare
      apiMock.on(PostToConnectionCommand).rejects(gone());
      ddbMock.on(BatchWriteItemCommand).rejects(new Error('AccessDeniedException'));

      // Act
      const result = await broadcast([recipients(3)], MESSAGE);

      // Assess
      expect(result).to.deep.equal({ attempted: 3, delivered: 0, gone: 3, failed: 0, unsent: [] });
      expect(ddbMock.commandCalls(BatchWriteItemCommand)).to.have.length(1);
    });

    it('keeps at most `concurrency` posts in flight, and sends them all', async () => {
      // Prepare
      let inFlight = 0;
      let maxInFlight = 0;
      apiMock.on(PostToConnectionCommand).callsFake(async () => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await flush();
        inFlight -= 1;
        return {};
      });

      // Act
      const result = await broadcast([recipients(7, 'a'), recipients(10, 'b')], MESSAGE, { concurrency: 3 });

      // Assess
      expect(result.delivered).to.equal(17);
      expect(maxInFlight).to.equal(3);
    });

    it('starts the next post as soon as one finishes, not a whole wave later', async () => {
      // Prepare: each post waits for the test to release it
      const pending = new Map<string, () => void>();
      apiMock.on(PostToConnectionCommand).callsFake((input: PostToConnectionCommandInput) => {
        const gate = deferred<void>();
        pending.set(input.ConnectionId ?? '', () => gate.resolve());
        return gate.promise.then(() => ({}));
      });

      // Act
      const done = broadcast([recipients(5)], MESSAGE, { concurrency: 2 });
      await flush();
      const firstWave = [...pending.keys()];
      pending.get('c1')?.();
      await flush();
      const afterOne = apiMock.commandCalls(PostToConnectionCommand).map((c) => c.args[0].input.ConnectionId);
      for (const id of ['c0', 'c2', 'c3', 'c4']) {
        pending.get(id)?.();
        await flush();
      }
      const result = await done;

      // Assess
      expect(firstWave).to.deep.equal(['c0', 'c1']);
      expect(afterOne).to.deep.equal(['c0', 'c1', 'c2']);
      expect(result.delivered).to.equal(5);
    });

    it('defaults to FANOUT_CONCURRENCY (100) posts in flight', async () => {
      // Prepare: each post takes longer than the lanes take to start (LANES_PER_TURN a turn)
      let inFlight = 0;
      let maxInFlight = 0;
      apiMock.on(PostToConnectionCommand).callsFake(async () => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        for (let turn = 0; turn <= 100 / LANES_PER_TURN; turn += 1) await flush();
        inFlight -= 1;
        return {};
      });

      // Act
      const result = await broadcast([recipients(250)], MESSAGE);

      // Assess
      expect(result.delivered).to.equal(250);
      expect(maxInFlight).to.equal(100);
    });

    it('sends the first posts while the later lanes are still to start, LANES_PER_TURN a turn', async () => {
      // Prepare: posts that stay in flight until the end
      const release = deferred();
      apiMock.on(PostToConnectionCommand).callsFake(() => release.promise.then(() => ({})));

      // Act
      const done = broadcast([recipients(250)], MESSAGE);
      await flush();
      const afterOneTurn = apiMock.commandCalls(PostToConnectionCommand).length;
      for (let turn = 0; turn <= 100 / LANES_PER_TURN; turn += 1) await flush();
      const afterAllTurns = apiMock.commandCalls(PostToConnectionCommand).length;
      release.resolve();
      const result = await done;

      // Assess
      expect(afterOneTurn).to.be.within(LANES_PER_TURN, 100 - LANES_PER_TURN);
      expect(afterAllTurns).to.equal(100);
      expect(result.delivered).to.equal(250);
    });

    it("one hanging recipient costs POST_TIMEOUT_MS, not the function's time; the rest are delivered", async () => {
      // Prepare
      clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      apiMock.on(PostToConnectionCommand).resolves({});
      apiMock.on(PostToConnectionCommand, { ConnectionId: 'c2' }).callsFake(() => new Promise(() => undefined));

      const failedForGood: string[] = [];

      // Act
      const done = broadcast([recipients(5)], MESSAGE, { onFailure: (recipient) => failedForGood.push(recipient.connectionId) });
      const state = watch(done);
      await clock.tickAsync(2999);
      const settledBefore = state.settled;
      await clock.tickAsync(1);
      const result = await done;

      // Assess
      expect(settledBefore).to.equal(false);
      expect(result).to.deep.equal({ attempted: 5, delivered: 4, gone: 0, failed: 1, unsent: [] });
      expect(ddbMock.commandCalls(BatchWriteItemCommand)).to.have.length(0);
      // It may have arrived: not one to redeliver (a second copy could show twice)
      expect(failedForGood).to.deep.equal([]);
    });
  });

  describe('broadcast with a deadline', () => {
    /** Each post takes `ms` of (fake) wall-clock time, one at a time. */
    function postsTake(ms: number): sinon.SinonFakeTimers {
      const fake = sinon.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
      apiMock.on(PostToConnectionCommand).callsFake(() => {
        fake.tick(ms);
        return {};
      });
      return fake;
    }

    it('starts a post only while its whole POST_TIMEOUT_MS fits before the deadline, and returns the rest unsent', async () => {
      // Prepare: POST_TIMEOUT_MS is 3000; posts at 0, 1000 and 2000 ms fit before a deadline 5500 ms away
      clock = postsTake(1000);
      const deadline = Date.now() + 5500;

      // Act
      const result = await broadcast([recipients(3, 'a'), recipients(3, 'b', 'chat.v1')], MESSAGE, { concurrency: 1, deadline });

      // Assess
      expect(posts().map((p) => p.to)).to.deep.equal(['a0', 'a1', 'a2']);
      expect(result).to.deep.equal({
        attempted: 3,
        delivered: 3,
        gone: 0,
        failed: 0,
        unsent: [
          { connectionId: 'b0', protocol: 'chat.v1' },
          { connectionId: 'b1', protocol: 'chat.v1' },
          { connectionId: 'b2', protocol: 'chat.v1' },
        ],
      });
    });

    it('leaves out of unsent those skipped and those whose protocol does not receive the frame', async () => {
      // Prepare: no time for any post
      clock = postsTake(1000);

      // Act
      const result = await broadcast([[...recipients(2, 'p'), ...recipients(2, 'j', 'chat.v1')]], JOIN, {
        deadline: Date.now() + 2999,
        skip: (r) => r.connectionId === 'j0',
      });

      // Assess
      expect(posts()).to.deep.equal([]);
      expect(result.unsent).to.deep.equal([{ connectionId: 'j1', protocol: 'chat.v1' }]);
    });
  });

  describe('reply', () => {
    it('sends one frame to one connection in its protocol', async () => {
      // Prepare
      apiMock.on(PostToConnectionCommand).resolves({});

      // Act
      await reply({ connectionId: 'j1', protocol: 'chat.v1' }, { type: 'error', code: 'invalid_json', message: 'bad' });
      await reply({ connectionId: 'p1', protocol: 'plain' }, { type: 'error', code: 'invalid_json', message: 'bad' });

      // Assess
      expect(posts()).to.deep.equal([
        { to: 'j1', text: '{"type":"error","code":"invalid_json","message":"bad"}' },
        { to: 'p1', text: 'Error: bad' },
      ]);
    });

    it('sends nothing when the protocol does not receive the frame', async () => {
      // Act
      await reply({ connectionId: 'p1', protocol: 'plain' }, JOIN);

      // Assess
      expect(apiMock.calls()).to.have.length(0);
    });

    it('answers true once the frame is posted', async () => {
      // Prepare
      apiMock.on(PostToConnectionCommand).resolves({});

      // Act
      const replied = await reply({ connectionId: 'p1', protocol: 'plain' }, MESSAGE);

      // Assess
      expect(replied).to.equal(true);
    });

    it('ignores a caller that is gone, and says so (false)', async () => {
      // Prepare
      apiMock.on(PostToConnectionCommand).rejects(gone());

      // Act
      const replied = await reply({ connectionId: 'p1', protocol: 'plain' }, MESSAGE);

      // Assess
      expect(replied).to.equal(false);
      expect(apiMock.commandCalls(PostToConnectionCommand)).to.have.length(1);
    });

    it('lets any other failure through', async () => {
      // Prepare
      apiMock.on(PostToConnectionCommand).rejects(internalError());

      // Act
      const error = await expectRejection(
        reply({ connectionId: 'p1', protocol: 'plain' }, MESSAGE),
        ApiGatewayManagementApiServiceException,
      );

      // Assess
      expect(error.name).to.equal('InternalServerError');
    });
  });
});
