import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { QueryCommand, type QueryCommandInput, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import { MEMBERS_PAGE_BYTES } from '../../../layers/chat-core/src/connections/members';
import { encodeMembersCursor } from '../../../layers/chat-core/src/wire/protocol';
import { handler } from '../../../functions/members';
import {
  CALLER_ID,
  type Item,
  apiMock,
  connectionItem,
  conditionFailed,
  ddbMock,
  givenCaller,
  framesTo,
  lambdaContext,
  loadEvent,
  posts,
  resetMocks,
} from '../helpers';

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

  it("lists each name of the caller's room once, across queries, with its connections when more than one", async () => {
    // Prepare
    caller('chat.v1');
    roomPages([member(CALLER_ID, 'alice'), member('b1', 'bob')], [member('a2', 'alice'), member('c1', 'carol')], [member('b2', 'bob')]);

    // Act
    const result = await handler(loadEvent('members'), lambdaContext('members'));

    // Assess
    expect(result).to.deep.equal({ statusCode: 200 });
    expect(ddbMock.commandCalls(QueryCommand)).to.have.length(3);
    expect(ddbMock.commandCalls(QueryCommand)[0]?.args[0].input.ExpressionAttributeValues?.[':room']).to.deep.equal({ S: 'dev' });
    expect(framesTo(CALLER_ID)).to.deep.equal([
      {
        type: 'members',
        room: 'dev',
        members: [{ name: 'alice', connections: 2 }, { name: 'bob', connections: 2 }, { name: 'carol' }],
        hasMore: false,
      },
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
      {
        type: 'members',
        room: 'dev',
        members: [
          { name: 'Sam', userId: 'user-1', connections: 2 },
          { name: 'Sam', userId: 'user-2' },
        ],
        hasMore: false,
      },
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

  describe("pages within API Gateway's limits", () => {
    /** A room of `count` connections with names of 32 emoji (128 UTF-8 bytes each), in queries of the Limit asked. */
    function emojiRoom(count: number): void {
      const room = Array.from({ length: count }, (_, i) =>
        member(`c${String(i).padStart(5, '0')}`, `${'😀'.repeat(28)}${String(i).padStart(4, '0')}`),
      );
      ddbMock.on(QueryCommand).callsFake((input: QueryCommandInput) => {
        const after = input.ExclusiveStartKey?.connectionId?.S;
        const start = after === undefined ? 0 : room.findIndex((item) => item.connectionId?.S === after) + 1;
        const items = room.slice(start, start + (input.Limit ?? room.length));
        const last = items[items.length - 1];
        const more = start + items.length < room.length;
        return {
          Items: items,
          ...(more && last && { LastEvaluatedKey: { room: { S: 'dev' }, connectionId: last.connectionId as { S: string } } }),
        };
      });
    }

    async function page(after?: string): Promise<{ members: { name: string }[]; hasMore: boolean; next?: string; bytes: number }> {
      apiMock.resetHistory();
      const event = loadEvent('members');
      event.body = JSON.stringify({ action: 'members', ...(after !== undefined && { after }) });
      await handler(event, lambdaContext('members'));
      const [post] = posts();
      return {
        ...(JSON.parse(post?.text ?? '{}') as { members: { name: string }[]; hasMore: boolean; next?: string }),
        bytes: Buffer.byteLength(post?.text ?? ''),
      };
    }

    it('a room of 1,000 long names comes in pages under MEMBERS_PAGE_BYTES, each with hasMore and the next cursor, everyone once', async () => {
      // Prepare
      caller('chat.v1');
      emojiRoom(1000);

      // Act
      const pages = [await page()];
      while (pages[pages.length - 1]?.hasMore) pages.push(await page(pages[pages.length - 1]?.next));

      // Assess
      expect(pages.length).to.be.greaterThan(1);
      for (const { bytes } of pages) expect(bytes).to.be.below(MEMBERS_PAGE_BYTES + 200);
      expect(pages.slice(0, -1).every((p) => p.hasMore && typeof p.next === 'string')).to.equal(true);
      expect(pages[pages.length - 1]).to.deep.include({ hasMore: false });
      expect(pages[pages.length - 1]?.next).to.equal(undefined);
      const names = pages.flatMap((p) => p.members.map((m) => m.name));
      expect(names).to.have.length(1000);
      expect(new Set(names).size).to.equal(1000);
    });

    it('stops reading the room once a page is full: small queries, none past the page', async () => {
      // Prepare
      caller('chat.v1');
      emojiRoom(5000);

      // Act
      const first = await page();

      // Assess
      const queries = ddbMock.commandCalls(QueryCommand).map((call) => call.args[0].input);
      const read = queries.length * 100;
      expect(queries.every((input) => input.Limit === 100)).to.equal(true);
      expect(read - first.members.length).to.be.below(100);
      expect(first.hasMore).to.equal(true);
    });

    it("a cursor starts the page after the connection it names, in the caller's room only", async () => {
      // Prepare
      caller('chat.v1');
      roomPages([member('b1', 'bob')]);

      // Act
      await page(encodeMembersCursor('a9'));

      // Assess
      expect(ddbMock.commandCalls(QueryCommand)[0]?.args[0].input.ExclusiveStartKey).to.deep.equal({
        room: { S: 'dev' },
        connectionId: { S: 'a9' },
      });
    });

    it('refuses a cursor it did not give, reading nothing', async () => {
      // Prepare
      caller('chat.v1');
      const event = loadEvent('members');
      event.body = '{"action":"members","after":"not a cursor!"}';

      // Act
      await handler(event, lambdaContext('members'));

      // Assess
      expect(framesTo(CALLER_ID)).to.deep.equal([
        { type: 'error', code: 'invalid_request', message: 'after: must be the next cursor of a members answer' },
      ]);
      expect(ddbMock.commandCalls(QueryCommand)).to.have.length(0);
    });
  });
});
