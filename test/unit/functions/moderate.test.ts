import { DeleteConnectionCommand, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DeleteItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { expect } from 'chai';
import sinon from 'sinon';
import { handler } from '../../../functions/moderate';
import {
  CALLER_ID,
  apiMock,
  authorized,
  conditionFailed,
  connectionItem,
  ddbMock,
  framesTo,
  givenCaller,
  lambdaContext,
  loadBackendEvent,
  loadEvent,
  posts,
  resetMocks,
} from '../helpers';

const MESSAGE_ID = '01HQ3Z9V5X8G2M4N6P7R8S0001';
const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);
const CALLER_ARN = 'arn:aws:iam::123456789012:user/chat-backend';

type Result = { statusCode?: number; body?: string } | undefined;
const run = (event: unknown): Promise<Result> => handler(event as never, lambdaContext('moderate') as Context) as Promise<Result>;
const answer = (result: Result) => JSON.parse(result?.body ?? '') as Record<string, unknown>;

function frame(body: Record<string, unknown>, identity?: { moderator: boolean }) {
  const event = loadEvent('moderate');
  event.body = JSON.stringify({ action: 'moderate', ...body });
  return identity ? authorized(event, { userId: 'user-mod-1', name: 'Mo', ...identity }) : event;
}

function backend(body: Record<string, unknown>) {
  const event = loadBackendEvent('moderate-backend');
  event.body = JSON.stringify(body);
  return event;
}

const logged = () =>
  ddbMock
    .commandCalls(PutItemCommand)
    .map((c) => c.args[0].input.Item)
    .filter((item) => item?.room?.S?.startsWith('moderation#'));

describe('function: moderate (the chat.v1 action moderate, and POST /moderation of the backend API)', () => {
  let clock: sinon.SinonFakeTimers;

  beforeEach(() => {
    resetMocks();
    clock = sinon.useFakeTimers({ now: NOW, toFake: ['Date'] });
    givenCaller({ room: 'lobby', name: 'Mo', protocol: 'chat.v1', userId: 'user-mod-1' });
    ddbMock.on(UpdateItemCommand, { TableName: 'rate-limits-table' }).resolves({});
    ddbMock.on(UpdateItemCommand, { TableName: 'messages-table' }).resolves({});
    ddbMock.on(PutItemCommand).resolves({});
    ddbMock.on(DeleteItemCommand).resolves({});
    ddbMock.on(QueryCommand).resolves({
      Items: [
        connectionItem({ connectionId: CALLER_ID, room: 'lobby', protocol: 'chat.v1', userId: 'user-mod-1' }),
        connectionItem({ connectionId: 'bob-1', room: 'lobby', protocol: 'chat.v1', userId: 'user-bob-1' }),
        connectionItem({ connectionId: 'bob-2', room: 'lobby', protocol: 'plain', userId: 'user-bob-1' }),
        connectionItem({ connectionId: 'carol-1', room: 'lobby', protocol: 'plain' }),
      ],
    });
    apiMock.on(PostToConnectionCommand).resolves({});
    apiMock.on(DeleteConnectionCommand).resolves({});
  });

  afterEach(() => clock.restore());

  describe('over the WebSocket', () => {
    it('a moderator deletes a message of the room: its text is emptied, every member gets deleted (plain ones in words), it is recorded', async () => {
      // Act
      await run(frame({ op: 'delete', id: MESSAGE_ID }, { moderator: true }));

      // Assess
      const update = ddbMock.commandCalls(UpdateItemCommand, { TableName: 'messages-table' })[0]?.args[0].input;
      expect(update?.Key).to.deep.equal({ room: { S: 'lobby' }, id: { S: MESSAGE_ID } });
      expect(update?.ExpressionAttributeValues?.[':empty']).to.deep.equal({ S: '' });
      expect(update?.ConditionExpression).to.equal('attribute_exists(id)');
      expect(framesTo('bob-1')).to.deep.equal([{ type: 'deleted', room: 'lobby', id: MESSAGE_ID }]);
      expect(posts().find((p) => p.to === 'carol-1')?.text).to.equal(`(a moderator deleted message ${MESSAGE_ID})`);
      expect(framesTo(CALLER_ID)).to.deep.include({ type: 'moderation', op: 'delete', room: 'lobby', id: MESSAGE_ID });
      expect(logged()).to.have.length(1);
      expect(logged()[0]).to.deep.include({
        op: { S: 'delete' },
        target: { S: MESSAGE_ID },
        by: { S: 'user#user-mod-1' },
        byName: { S: 'Mo' },
        at: { S: new Date(NOW).toISOString() },
      });
    });

    it('a message the room does not have: not_found, nobody told', async () => {
      // Prepare
      ddbMock.on(UpdateItemCommand, { TableName: 'messages-table' }).rejects(conditionFailed());

      // Act
      await run(frame({ op: 'delete', id: MESSAGE_ID }, { moderator: true }));

      // Assess
      expect(framesTo(CALLER_ID)).to.deep.equal([{ type: 'error', code: 'not_found', message: `room lobby has no message ${MESSAGE_ID}` }]);
      expect(posts()).to.have.length(1);
      expect(logged()).to.have.length(0);
    });

    it("a moderator bans a person for a while: the ban is stored with its end as TTL, each of the person's connections in the room is told why and closed", async () => {
      // Act
      await run(frame({ op: 'ban', user: 'user-bob-1', for: '2h' }, { moderator: true }));

      // Assess
      const until = Math.floor(NOW / 1000) + 7200;
      const ban = ddbMock
        .commandCalls(PutItemCommand)
        .map((c) => c.args[0].input.Item)
        .find((item) => item?.room?.S === 'ban#lobby');
      expect(ban).to.deep.include({
        id: { S: 'user-bob-1' },
        until: { N: String(until) },
        expiresAt: { N: String(until) },
        by: { S: 'user#user-mod-1' },
      });
      const notice = `you are banned from room lobby by a moderator until ${new Date(until * 1000).toISOString()}`;
      expect(framesTo('bob-1')).to.deep.equal([{ type: 'error', code: 'banned', message: notice }]);
      expect(posts().find((p) => p.to === 'bob-2')?.text).to.equal(`Error: ${notice}`);
      const closed = apiMock.commandCalls(DeleteConnectionCommand).map((c) => c.args[0].input.ConnectionId);
      expect(closed).to.deep.equal(['bob-1', 'bob-2']);
      expect(framesTo(CALLER_ID)).to.deep.equal([
        { type: 'moderation', op: 'ban', room: 'lobby', user: 'user-bob-1', until: new Date(until * 1000).toISOString(), closed: 2 },
      ]);
      expect(logged()[0]).to.deep.include({ op: { S: 'ban' }, target: { S: 'user-bob-1' }, until: { N: String(until) } });
    });

    it('a ban without for lasts until lifted (no TTL); a connection gone before it was told is not counted, nor closed', async () => {
      // Prepare
      apiMock.on(PostToConnectionCommand, { ConnectionId: 'bob-2' }).rejects(new GoneException({ message: 'gone', $metadata: {} }));

      // Act
      await run(frame({ op: 'ban', user: 'user-bob-1' }, { moderator: true }));

      // Assess
      const ban = ddbMock
        .commandCalls(PutItemCommand)
        .map((c) => c.args[0].input.Item)
        .find((item) => item?.room?.S === 'ban#lobby');
      expect(ban).to.not.have.any.keys('until', 'expiresAt');
      expect(framesTo(CALLER_ID)[0]).to.deep.include({ op: 'ban', until: null, closed: 1 });
      expect(apiMock.commandCalls(DeleteConnectionCommand).map((c) => c.args[0].input.ConnectionId)).to.deep.equal(['bob-1']);
    });

    it('counts as closed a connection that left on hearing why (gone by the time of the close, as the chat page leaves)', async () => {
      // Prepare
      apiMock.on(DeleteConnectionCommand, { ConnectionId: 'bob-2' }).rejects(new GoneException({ message: 'gone', $metadata: {} }));

      // Act
      await run(frame({ op: 'ban', user: 'user-bob-1', for: '10m' }, { moderator: true }));

      // Assess
      expect(framesTo(CALLER_ID)[0]).to.deep.include({ op: 'ban', closed: 2 });
    });

    it('a moderator lifts a ban', async () => {
      // Act
      await run(frame({ op: 'unban', user: 'user-bob-1' }, { moderator: true }));

      // Assess
      expect(ddbMock.commandCalls(DeleteItemCommand)[0]?.args[0].input.Key).to.deep.equal({
        room: { S: 'ban#lobby' },
        id: { S: 'user-bob-1' },
      });
      expect(framesTo(CALLER_ID)).to.deep.equal([{ type: 'moderation', op: 'unban', room: 'lobby', user: 'user-bob-1' }]);
      expect(logged()[0]).to.deep.include({ op: { S: 'unban' } });
    });

    for (const [label, identity] of [
      ['a signed-in person outside the moderators group', { moderator: false }],
      ['anyone without sign-in (AuthMode none)', undefined],
    ] as const) {
      it(`${label} gets forbidden, and nothing is done`, async () => {
        // Act
        await run(frame({ op: 'delete', id: MESSAGE_ID }, identity));

        // Assess
        expect(framesTo(CALLER_ID)).to.deep.equal([
          { type: 'error', code: 'forbidden', message: 'only moderators may delete in room lobby' },
        ]);
        expect(ddbMock.commandCalls(UpdateItemCommand, { TableName: 'messages-table' })).to.have.length(0);
        expect(logged()).to.have.length(0);
      });
    }

    it('check tells anyone whether they moderate the room', async () => {
      // Act
      await run(frame({ op: 'check' }, { moderator: true }));
      await run(frame({ op: 'check' }));

      // Assess
      expect(framesTo(CALLER_ID)).to.deep.equal([
        { type: 'moderation', op: 'check', room: 'lobby', moderator: true },
        { type: 'moderation', op: 'check', room: 'lobby', moderator: false },
      ]);
    });

    for (const [label, body, message] of [
      ['an unknown op', { op: 'kick' }, 'op: op must be check, delete, ban or unban'],
      ['a delete without a message id', { op: 'delete' }, 'id: id must be a message id'],
      [
        'a ban for no duration',
        { op: 'ban', user: 'u', for: 'soon' },
        'for: for must be a duration such as 90s, 30m, 2h or 7d (at most 366d)',
      ],
      ['a ban without a user', { op: 'ban' }, 'user: user must be a string'],
    ] as const) {
      it(`refuses ${label} with invalid_request`, async () => {
        // Act
        await run(frame(body, { moderator: true }));

        // Assess
        expect(framesTo(CALLER_ID)).to.deep.equal([{ type: 'error', code: 'invalid_request', message }]);
      });
    }
  });

  describe('through the backend API (IAM)', () => {
    it('bans in the room it names (the fixture), recorded as done by the IAM caller', async () => {
      // Act
      const result = await run(loadBackendEvent('moderate-backend'));

      // Assess
      expect(result?.statusCode).to.equal(200);
      expect(answer(result)).to.deep.include({ op: 'ban', room: 'lobby', user: 'user-mallory-1', closed: 0 });
      expect(logged()[0]).to.deep.include({ by: { S: `iam#${CALLER_ARN}` } });
      const buckets = ddbMock.commandCalls(UpdateItemCommand, { TableName: 'rate-limits-table' }).map((c) => c.args[0].input.Key);
      expect(buckets).to.deep.equal([{ bucket: { S: `backend#${CALLER_ARN}` } }]);
    });

    it('deletes a message; 404 not_found for one the room does not have', async () => {
      // Act
      const deleted = await run(backend({ op: 'delete', room: 'lobby', id: MESSAGE_ID }));
      ddbMock.on(UpdateItemCommand, { TableName: 'messages-table' }).rejects(conditionFailed());
      const missing = await run(backend({ op: 'delete', room: 'lobby', id: MESSAGE_ID }));

      // Assess
      expect(answer(deleted)).to.deep.equal({ op: 'delete', room: 'lobby', id: MESSAGE_ID });
      expect(framesTo('bob-1')).to.deep.equal([{ type: 'deleted', room: 'lobby', id: MESSAGE_ID }]);
      expect(missing?.statusCode).to.equal(404);
      expect(answer(missing)).to.deep.equal({ code: 'not_found', message: `room lobby has no message ${MESSAGE_ID}` });
    });

    for (const [label, body] of [
      ['no room', { op: 'unban', user: 'u' }],
      ['check (the WebSocket’s)', { op: 'check', room: 'lobby' }],
    ] as const) {
      it(`refuses ${label} with 400 invalid_request`, async () => {
        // Act
        const result = await run(backend(body));

        // Assess
        expect(result?.statusCode).to.equal(400);
        expect(answer(result).code).to.equal('invalid_request');
        expect(logged()).to.have.length(0);
      });
    }
  });
});
