import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { QueryCommand, type QueryCommandInput, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import { handler } from '../../../functions/members';
import { CALLER_ID, type Item, apiMock, connectionItem, conditionFailed, ddbMock, givenCaller, framesTo, lambdaContext, loadEvent, posts, resetMocks } from '../helpers';

function caller(protocol: 'plain' | 'chat.v1' | undefined): void {
  givenCaller(protocol && { room: 'dev', name: 'alice', protocol });
}

function roomPages(...pages: Item[][]): void {
  let index = 0;
  ddbMock.on(QueryCommand).callsFake((_input: QueryCommandInput) => {
    const page = pages[index] ?? [];
    index += 1;
    return { Items: page, ...(index < pages.length ? { LastEvaluatedKey: { room: { S: 'dev' }, connectionId: { S: `k${index}` } } } : {}) };
  });
}

const member = (connectionId: string, name: string): Item => connectionItem({ connectionId, room: 'dev', name });

describe('function: members', () => {
  beforeEach(() => {
    resetMocks();
    apiMock.on(PostToConnectionCommand).resolves({});
  });

  it('lists each name of the caller\'s room once, across pages, as a members frame', async () => {
    // Prepare
    caller('chat.v1');
    roomPages(
      [member(CALLER_ID, 'alice'), member('b1', 'bob')],
      [member('a2', 'alice'), member('c1', 'carol')],
      [member('b2', 'bob')],
    );

    // Act
    const result = await handler(loadEvent('members'), lambdaContext('members'));

    // Assess
    expect(result).to.deep.equal({ statusCode: 200 });
    expect(ddbMock.commandCalls(QueryCommand)).to.have.length(3);
    expect(ddbMock.commandCalls(QueryCommand)[0]?.args[0].input.ExpressionAttributeValues?.[':room']).to.deep.equal({ S: 'dev' });
    expect(framesTo(CALLER_ID)).to.deep.equal([
      { type: 'members', room: 'dev', members: [{ name: 'alice' }, { name: 'bob' }, { name: 'carol' }] },
    ]);
    expect(posts()).to.have.length(1);
  });

  it('a plain caller gets one line', async () => {
    // Prepare
    caller('plain');
    roomPages([member(CALLER_ID, 'alice'), member('b1', 'bob')]);

    // Act
    await handler(loadEvent('members'), lambdaContext('members'));

    // Assess
    expect(posts()).to.deep.equal([{ to: CALLER_ID, text: 'In dev: alice, bob' }]);
  });

  it('an unregistered caller: not_connected, and the room is not read', async () => {
    // Prepare
    caller(undefined);

    // Act
    await handler(loadEvent('members'), lambdaContext('members'));

    // Assess
    expect(posts()).to.deep.equal([{ to: CALLER_ID, text: 'Error: this connection is not registered; reconnect' }]);
    expect(ddbMock.commandCalls(QueryCommand)).to.have.length(0);
  });

  it('refuses a body that is not JSON', async () => {
    // Prepare
    caller('chat.v1');
    const event = loadEvent('members');
    event.body = 'members please';

    // Act
    await handler(event, lambdaContext('members'));

    // Assess
    expect(framesTo(CALLER_ID)).to.deep.equal([{ type: 'error', code: 'invalid_json', message: 'the frame is not valid JSON' }]);
    expect(ddbMock.commandCalls(QueryCommand)).to.have.length(0);
  });
  it('with auth on, lists each person once by user id, so two people with one name stay apart', async () => {
    // Prepare
    caller('chat.v1');
    roomPages([
      connectionItem({ connectionId: CALLER_ID, room: 'dev', name: 'Sam', userId: 'user-1' }),
      connectionItem({ connectionId: 's2', room: 'dev', name: 'Sam', userId: 'user-2' }),
      connectionItem({ connectionId: 's3', room: 'dev', name: 'Sam', userId: 'user-1' }),
    ]);

    // Act
    await handler(loadEvent('members'), lambdaContext('members'));

    // Assess
    expect(framesTo(CALLER_ID)).to.deep.equal([
      { type: 'members', room: 'dev', members: [{ name: 'Sam', userId: 'user-1' }, { name: 'Sam', userId: 'user-2' }] },
    ]);
  });

  it('a caller over the request rate limit gets rate_limited and nothing else: the room is not read', async () => {
    // Prepare: the connection's request bucket is empty
    caller('chat.v1');
    ddbMock.on(UpdateItemCommand, { TableName: 'rate-limits-table' }).rejects(conditionFailed());

    // Act
    await handler(loadEvent('members'), lambdaContext('members'));

    // Assess
    expect(framesTo(CALLER_ID).map((frame) => frame.code)).to.deep.equal(['rate_limited']);
    expect(ddbMock.commandCalls(QueryCommand)).to.have.length(0);
  });
});
