import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { QueryCommand, type QueryCommandInput, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import sinon from 'sinon';
import { handler } from '../../../functions/history';
import {
  CALLER_ID,
  type Item,
  apiMock,
  conditionFailed,
  ddbMock,
  givenCaller,
  framesTo,
  lambdaContext,
  loadEvent,
  posts,
  resetMocks,
} from '../helpers';

const ID = (n: number): string => `01HQ3Z9V5X8G2M4N6P7R8S${String(n).padStart(4, '0')}`;
const SENT = (n: number): string => new Date(Date.UTC(2022, 0, 25, 18, 0, n)).toISOString();

function messageItem(n: number, text = `message ${n}`): Item {
  return { room: { S: 'dev' }, id: { S: ID(n) }, name: { S: `user${n}` }, text: { S: text }, sentAt: { S: SENT(n) } };
}

function message(n: number, text = `message ${n}`): Record<string, unknown> {
  return { id: ID(n), room: 'dev', name: `user${n}`, text, sentAt: SENT(n) };
}

/** Items n = from..to in that order (backwards reads return newest first). */
function items(from: number, to: number, text?: (n: number) => string): Item[] {
  const step = from <= to ? 1 : -1;
  const list: Item[] = [];
  for (let n = from; n !== to + step; n += step) list.push(messageItem(n, text?.(n)));
  return list;
}

function caller(protocol: 'plain' | 'chat.v1' | undefined): void {
  givenCaller(protocol && { room: 'dev', name: 'alice', protocol });
}

function request(body: Record<string, unknown>): ReturnType<typeof loadEvent> {
  const event = loadEvent('history');
  event.body = JSON.stringify({ action: 'history', ...body });
  return event;
}

function queryInput(): QueryCommandInput | undefined {
  return ddbMock.commandCalls(QueryCommand)[0]?.args[0].input;
}

describe('function: history', () => {
  beforeEach(() => {
    resetMocks();
    apiMock.on(PostToConnectionCommand).resolves({});
  });

  it("the sample event: the latest 20 of the caller's room, oldest first, with hasMore", async () => {
    // Prepare
    caller('chat.v1');
    ddbMock.on(QueryCommand).resolves({ Items: items(30, 10) }); // 21, newest first

    // Act
    const result = await handler(loadEvent('history'), lambdaContext('history'));

    // Assess
    expect(result).to.deep.equal({ statusCode: 200 });
    const input = queryInput();
    expect(input?.ExpressionAttributeValues?.[':room']).to.deep.equal({ S: 'dev' });
    expect(input?.ScanIndexForward).to.equal(false);
    expect(input?.Limit).to.equal(21);
    const [frame] = framesTo(CALLER_ID);
    expect(frame).to.deep.equal({
      type: 'history',
      room: 'dev',
      messages: Array.from({ length: 20 }, (_, i) => message(11 + i)),
      hasMore: true,
    });
  });

  it('before: the page just before that id, oldest first; no more', async () => {
    // Prepare
    caller('chat.v1');
    ddbMock.on(QueryCommand).resolves({ Items: items(4, 1) });

    // Act
    await handler(request({ limit: 5, before: ID(5) }), lambdaContext('history'));

    // Assess
    expect(queryInput()?.KeyConditionExpression).to.equal('room = :room AND id < :before');
    expect(queryInput()?.ExpressionAttributeValues?.[':before']).to.deep.equal({ S: ID(5) });
    expect(framesTo(CALLER_ID)).to.deep.equal([
      { type: 'history', room: 'dev', messages: [1, 2, 3, 4].map((n) => message(n)), hasMore: false },
    ]);
  });

  it('after: what a reconnecting client missed, oldest first, reading forwards', async () => {
    // Prepare
    caller('chat.v1');
    ddbMock.on(QueryCommand).resolves({ Items: items(11, 13) });

    // Act
    await handler(request({ limit: 2, after: ID(10) }), lambdaContext('history'));

    // Assess
    expect(queryInput()?.KeyConditionExpression).to.equal('room = :room AND id > :after');
    expect(queryInput()?.ScanIndexForward).to.equal(true);
    expect(queryInput()?.Limit).to.equal(3);
    expect(framesTo(CALLER_ID)).to.deep.equal([{ type: 'history', room: 'dev', messages: [message(11), message(12)], hasMore: true }]);
  });

  it('a plain caller gets one line per message', async () => {
    // Prepare
    caller('plain');
    ddbMock.on(QueryCommand).resolves({ Items: items(2, 1) });

    // Act
    await handler(request({ limit: 2 }), lambdaContext('history'));

    // Assess
    expect(posts()).to.deep.equal([{ to: CALLER_ID, text: `[${SENT(1)}] user1: message 1\n[${SENT(2)}] user2: message 2` }]);
  });

  it('an empty room: an empty page', async () => {
    // Prepare
    caller('plain');
    ddbMock.on(QueryCommand).resolves({ Items: [] });

    // Act
    await handler(request({}), lambdaContext('history'));

    // Assess
    expect(queryInput()?.Limit).to.equal(51);
    expect(posts()).to.deep.equal([{ to: CALLER_ID, text: 'No messages in dev.' }]);
  });

  it('keeps a latest page within one frame: the newest messages, and hasMore', async () => {
    // Prepare: 40 messages of 4,000 bytes, ~160 KB, over API Gateway's 128 KB
    caller('chat.v1');
    ddbMock.on(QueryCommand).resolves({ Items: items(40, 1, (n) => `${n}:`.padEnd(4000, 'x')) });

    // Act
    await handler(request({ limit: 40 }), lambdaContext('history'));

    // Assess
    const [post] = posts();
    const frame = JSON.parse(post?.text ?? '') as { messages: { id: string }[]; hasMore: boolean };
    expect(Buffer.byteLength(post?.text ?? '', 'utf8')).to.be.below(128 * 1024);
    expect(frame.hasMore).to.equal(true);
    expect(frame.messages.length).to.be.within(20, 39);
    expect(frame.messages.at(-1)?.id).to.equal(ID(40));
    const ids = frame.messages.map((m) => m.id);
    expect(ids).to.deep.equal([...ids].sort());
  });

  it('keeps an `after` page within one frame: the oldest messages, and hasMore', async () => {
    // Prepare
    caller('chat.v1');
    ddbMock.on(QueryCommand).resolves({ Items: items(1, 40, (n) => `${n}:`.padEnd(4000, 'x')) });

    // Act
    await handler(request({ limit: 39, after: ID(0) }), lambdaContext('history'));

    // Assess
    const frame = framesTo(CALLER_ID)[0] as { messages: { id: string }[]; hasMore: boolean };
    expect(frame.hasMore).to.equal(true);
    expect(frame.messages[0]?.id).to.equal(ID(1));
    expect(frame.messages.length).to.be.within(20, 38);
  });

  for (const [label, body, message] of [
    ['both cursors', { before: ID(9), after: ID(1) }, 'give before or after, not both'],
    ['limit 0', { limit: 0 }, /^limit: .*>=1$/],
    ['limit 101', { limit: 101 }, /^limit: .*<=100$/],
    ['a cursor that is no message id', { after: 'yesterday' }, 'after: must be a message id'],
  ] as const) {
    it(`refuses ${label} with invalid_request, reading nothing`, async () => {
      // Prepare
      caller('chat.v1');

      // Act
      const result = await handler(request(body), lambdaContext('history'));

      // Assess
      expect(result).to.deep.equal({ statusCode: 200 });
      const frames = framesTo(CALLER_ID);
      expect(frames).to.have.length(1);
      expect(frames[0]).to.have.keys(['type', 'code', 'message']);
      expect(frames[0]).to.include({ type: 'error', code: 'invalid_request' });
      if (typeof message === 'string') expect(frames[0]?.message).to.equal(message);
      else expect(frames[0]?.message).to.match(message);
      expect(ddbMock.commandCalls(QueryCommand)).to.have.length(0);
    });
  }

  it('accepts the limit bounds 1 and 100', async () => {
    // Prepare
    caller('chat.v1');
    ddbMock.on(QueryCommand).resolves({ Items: [] });

    // Act
    await handler(request({ limit: 1 }), lambdaContext('history'));
    await handler(request({ limit: 100 }), lambdaContext('history'));

    // Assess
    expect(ddbMock.commandCalls(QueryCommand).map((c) => c.args[0].input.Limit)).to.deep.equal([2, 101]);
  });

  it('a reply slower than POST_TIMEOUT_MS ends the request normally (it may have arrived; not sent again): no "Internal server error"', async () => {
    // Prepare: the Management API never answers the post
    caller('chat.v1');
    ddbMock.on(QueryCommand).resolves({ Items: items(3, 1) });
    apiMock.on(PostToConnectionCommand).callsFake(() => new Promise(() => undefined));
    const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });

    // Act
    const done = handler(loadEvent('history'), lambdaContext('history'));
    await clock.tickAsync(3000);
    const result = await done;
    clock.restore();

    // Assess
    expect(result).to.deep.equal({ statusCode: 200 });
    expect(apiMock.commandCalls(PostToConnectionCommand)).to.have.length(1);
  });

  it('an unregistered caller: not_connected', async () => {
    // Prepare
    caller(undefined);

    // Act
    await handler(loadEvent('history'), lambdaContext('history'));

    // Assess
    expect(posts()).to.deep.equal([{ to: CALLER_ID, text: 'Error: this connection is not registered; reconnect' }]);
    expect(ddbMock.commandCalls(QueryCommand)).to.have.length(0);
  });

  it('a caller over the request rate limit gets rate_limited and nothing else: the room is not read', async () => {
    // Prepare: the connection's request bucket is empty
    caller('chat.v1');
    ddbMock.on(UpdateItemCommand, { TableName: 'rate-limits-table' }).rejects(conditionFailed());

    // Act
    await handler(loadEvent('history'), lambdaContext('history'));

    // Assess
    expect(framesTo(CALLER_ID).map((frame) => frame.code)).to.deep.equal(['rate_limited']);
    expect(ddbMock.commandCalls(QueryCommand)).to.have.length(0);
  });
});
