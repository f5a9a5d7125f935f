/**
 * Limits on every path, and no ghosts, through the local runtime with real clients: each
 * attack as it was found (a reconnect loop flooding a room with presence, floods of history,
 * members and $default, one address multiplying the message limit with connections, a full
 * room, connections a killed runtime left in the table, names that gave the connection id
 * away), and the defence. The clock is the real one: the bounds allow for the tokens that come
 * back while a test runs (one every 10 s / limit), computed from the time it took.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import {
  CHAT_V1,
  ChatRuntime,
  chatUrl,
  nextFrame,
  nextText,
  refusalOf,
  say,
  uniqueRoom,
  type ChatFrame,
  type MembersFrame,
} from './chat-helpers';
import { connect, eventually, storeClient, type Client } from './helpers';
import { LOCAL_CREDENTIALS } from '../../local/src/iam/iam';
import { NpmStart } from './npm-start';

const WINDOW_MS = 10_000;

/** Tokens a bucket of `limit` per 10 s can hold at once plus those back within `elapsedMs`. */
const mostAllowed = (limit: number, elapsedMs: number): number => limit + Math.floor(elapsedMs / (WINDOW_MS / limit)) + 1;

/** A flood starts sandboxes of its own (8 per function at most): their cold starts may take a while on a busy machine. */
const FLOOD_FRAME_TIMEOUT_MS = 30_000;

/** The next `count` frames a chat.v1 client receives, parsed. */
async function frames(client: Client, count: number, what: string): Promise<ChatFrame[]> {
  const all: ChatFrame[] = [];
  for (let i = 0; i < count; i += 1) {
    all.push(JSON.parse(await nextText(client, `${what} (${i + 1} of ${count})`, FLOOD_FRAME_TIMEOUT_MS)) as ChatFrame);
  }
  return all;
}

const codes = (list: ChatFrame[]): string[] => list.map((frame) => (frame.type === 'error' ? frame.code : frame.type));

describe('chat: connects are limited per identity or source IP (ConnectRateLimit=5)', function () {
  this.timeout(120_000);
  const LIMIT = 5;
  const chat = new ChatRuntime();
  before(() => chat.start({ env: { CONNECT_RATE_LIMIT: String(LIMIT) }, prewarm: true }));
  afterEach(() => chat.closeClients());
  after(() => chat.stop());

  it('stops a client reconnecting in a loop: 429 with a reason past the limit, so the room hears a bounded number of joins and leaves', async () => {
    const room = uniqueRoom('reconnect-loop');
    const member = await chat.join({ room, name: 'member', v1: true });
    const started = Date.now();
    let accepted = 0;
    const refusals: { status: number; body: string }[] = [];
    for (let attempt = 0; attempt < 20; attempt += 1) {
      try {
        const attacker = await connect(chatUrl(chat.runtime, { room, name: 'looper' }), { protocols: [CHAT_V1] });
        accepted += 1;
        await attacker.close();
      } catch (error: unknown) {
        const { status, body } = error as { status?: number; body?: string };
        if (status === undefined) throw error;
        refusals.push({ status, body: body ?? '' });
      }
    }
    const elapsed = Date.now() - started;
    expect(refusals.length, 'connects refused').to.be.above(0);
    for (const refusal of refusals) {
      expect(refusal).to.deep.equal({ status: 429, body: `more than ${LIMIT} connects in 10 seconds from your address; wait a moment` });
    }
    // The member's own connect took one token.
    expect(accepted, 'connects let through').to.be.at.most(mostAllowed(LIMIT, elapsed) - 1);
    // Joins and leaves come coalesced: a presence frame carries one notice or a batch (`changes`).
    const notices = (frames: string[]): number =>
      frames
        .map((text) => JSON.parse(text) as { type: string; changes?: unknown[] })
        .filter((frame) => frame.type === 'presence')
        .reduce((sum, frame) => sum + (frame.changes?.length ?? 1), 0);
    const presence = await eventually(
      async () => (notices(member.messages) >= 2 * accepted ? notices(member.messages) : undefined),
      10_000,
      'the joins and leaves of the accepted connects',
    );
    expect(notices(await member.quietFor(1500)), 'no presence but that of the accepted connects').to.equal(presence);
    expect(presence).to.equal(2 * accepted);
  });

  it('refuses before anything is stored: the table holds no connection of a refused connect', async () => {
    const room = uniqueRoom('refused-store');
    const db = storeClient(chat.runtime);
    try {
      const refused = await eventually(
        async () => {
          const answer = await refusalOf(chatUrl(chat.runtime, { room, name: 'flooder' })).catch(() => undefined);
          return answer?.status === 429 ? answer : undefined;
        },
        20_000,
        'a refused connect',
      );
      expect(refused.status).to.equal(429);
      const { Items } = await db.send(new ScanCommand({ TableName: chat.runtime.tables.ConnectionsTable }));
      expect(
        (Items ?? []).filter((item) => item.room?.S === room),
        'connections stored in the room',
      ).to.have.length(0);
    } finally {
      db.destroy();
    }
  });
});

describe('chat: requests, messages and rooms are limited (RequestRateLimit=5, IdentityMessageRateLimit=6, MaxRoomSize=3)', function () {
  this.timeout(120_000);
  const REQUESTS = 5;
  const IDENTITY_MESSAGES = 6;
  const ROOM_SIZE = 3;
  const chat = new ChatRuntime();
  before(() =>
    chat.start({
      env: {
        REQUEST_RATE_LIMIT: String(REQUESTS),
        IDENTITY_MESSAGE_RATE_LIMIT: String(IDENTITY_MESSAGES),
        MESSAGE_RATE_LIMIT: '1000',
        MAX_ROOM_SIZE: String(ROOM_SIZE),
      },
      prewarm: true,
    }),
  );
  afterEach(() => chat.closeClients());
  after(() => chat.stop());

  it('a flood of history, members and $default frames on one connection: rate_limited past the limit, each frame answered once; another connection is served', async () => {
    const room = uniqueRoom('request-flood');
    const flooder = await chat.join({ room, name: 'flooder', v1: true });
    const bystander = await chat.join({ room, name: 'bystander', v1: true });
    await nextFrame(flooder, 'presence', "the bystander's join");
    const flood = [{ action: 'history', limit: 5 }, { action: 'members' }, { hello: 'default' }];
    const started = Date.now();
    for (let i = 0; i < 15; i += 1) flooder.send(flood[i % flood.length] as object);
    const answers = codes(await frames(flooder, 15, 'the answers to the flood'));
    const elapsed = Date.now() - started;
    const served = answers.filter((code) => code !== 'rate_limited');
    expect(
      served.every((code) => ['history', 'members', 'info'].includes(code)),
      answers.join(','),
    ).to.equal(true);
    expect(answers.filter((code) => code === 'rate_limited').length, answers.join(',')).to.be.above(0);
    expect(served.length, answers.join(',')).to.be.at.most(mostAllowed(REQUESTS, elapsed));
    expect(await flooder.quietFor(300), 'nothing more').to.deep.equal([]);
    bystander.send({ action: 'members' });
    const members = await nextFrame(bystander, 'members', "the bystander's members, on a connection of its own");
    expect(members.members.map((m) => m.name).sort()).to.deep.equal(['bystander', 'flooder']);
  });

  it('a plain connection over the request limit gets the error as text', async () => {
    const plain = await chat.join({ room: uniqueRoom('plain-flood') });
    for (let i = 0; i < 10; i += 1) plain.send('hello');
    const answers: string[] = [];
    for (let i = 0; i < 10; i += 1) answers.push(await nextText(plain, `answer ${i + 1} of 10`, FLOOD_FRAME_TIMEOUT_MS));
    expect(answers.filter((text) => text.startsWith('Use the sendmessage route'))).to.have.length.above(0);
    expect(answers).to.include(
      `Error: more than ${REQUESTS} requests (history, members and others) in 10 seconds from this connection; wait a moment`,
    );
  });

  it('many connections from one address share its message budget: opening more does not multiply it', async () => {
    // Each sender in a room of its own, so that what it receives is its own answers.
    const senders = await Promise.all([1, 2, 3].map((n) => chat.join({ room: uniqueRoom(`share-${n}`), name: `sender${n}`, v1: true })));
    const started = Date.now();
    senders.forEach((sender, n) => {
      for (let i = 0; i < 4; i += 1) sender.send({ action: 'sendmessage', message: `s${n} m${i}` });
    });
    const answers = (await Promise.all(senders.map((sender, n) => frames(sender, 4, `sender ${n + 1}'s answers`)))).flatMap(codes);
    const elapsed = Date.now() - started;
    const stored = answers.filter((code) => code === 'message').length;
    expect(
      answers.filter((code) => code !== 'message'),
      answers.join(','),
    ).to.satisfy((rest: string[]) => rest.every((c) => c === 'rate_limited'));
    expect(stored, `12 messages from 3 connections of one address, each under its own limit: ${answers.join(',')}`).to.be.at.most(
      mostAllowed(IDENTITY_MESSAGES, elapsed),
    );
    expect(stored).to.be.below(12);
  });

  it('refuses a connect to a full room with 403 and a reason; other rooms are open, and the room takes one again when someone leaves', async () => {
    const room = uniqueRoom('full');
    const members: Client[] = [];
    for (let n = 0; n < ROOM_SIZE; n += 1) members.push(await chat.join({ room, name: `m${n}` }));
    const refused = await refusalOf(chatUrl(chat.runtime, { room, name: 'one-too-many' }));
    expect(refused).to.deep.equal({ status: 403, body: `room ${room} is full (${ROOM_SIZE} connections); try again later` });
    await chat.join({ room: uniqueRoom('not-full'), name: 'elsewhere' });
    await members[0]?.close();
    const late = await eventually(
      () => connect(chatUrl(chat.runtime, { room, name: 'late' })).catch(() => undefined),
      10_000,
      'a connect once a member has left',
    );
    await late.close();
  });

  it("members leaves out a connection older than API Gateway's 2 hours, whose $disconnect never came (AWS loses some)", async () => {
    const room = uniqueRoom('stale');
    const db = storeClient(chat.runtime);
    try {
      const longAgo = Date.now() - 3 * 60 * 60 * 1000;
      await db.send(
        new PutItemCommand({
          TableName: chat.runtime.tables.ConnectionsTable,
          Item: {
            connectionId: { S: 'ghostGhostGhost=' },
            room: { S: room },
            name: { S: 'ghost' },
            // plain: the newcomer's join (presence, chat.v1 only) does not reach it, and so does not find it gone
            protocol: { S: 'plain' },
            connectedAt: { N: String(longAgo) },
            expiresAt: { N: String(Math.floor(Date.now() / 1000) + 3600) },
          },
        }),
      );
    } finally {
      db.destroy();
    }
    const alive = await chat.join({ room, name: 'alive', v1: true });
    alive.send({ action: 'members' });
    const members = await nextFrame(alive, 'members', 'the members of the room');
    expect(members.members).to.deep.equal([{ name: 'alive' }]);
  });

  it('a default name says nothing of the connection id', async () => {
    const room = uniqueRoom('guest');
    const guest = await chat.join({ room, v1: true });
    guest.send({ hello: 'who am I' });
    const info = await nextFrame(guest, 'info', 'the $default info with the connection id');
    guest.send({ action: 'members' });
    const [member] = (await nextFrame(guest, 'members', "the guest's own name")).members;
    expect(member?.name).to.match(/^guest-[a-z0-9]{6}$/);
    const tag = (member?.name ?? '').slice('guest-'.length);
    expect(info.connectionID.replace(/[^A-Za-z0-9]/g, '').toLowerCase(), 'the connection id').not.to.include(tag);
  });
});

describe('chat: no ghosts after the runtime is killed and started again on its data directory (npm start --data-dir)', function () {
  this.timeout(90_000);
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-ghosts-'));
  const children: NpmStart[] = [];
  const clients: Client[] = [];
  after(async () => {
    await Promise.all(clients.map((client) => client.close()));
    children.forEach((child) => child.kill());
    rmSync(dataDir, { recursive: true, force: true });
  });

  const join2 = async (wsUrl: string, room: string, name: string): Promise<Client> => {
    const client = await connect(`${wsUrl}?${new URLSearchParams({ room, name }).toString()}`, { protocols: [CHAT_V1] });
    clients.push(client);
    return client;
  };

  it('lists only live connections in members, and the table keeps none of the dead process', async () => {
    const room = `ghosts-${process.pid}`;
    const first = new NpmStart(dataDir);
    children.push(first);
    const a = await first.ready();
    for (const name of ['ann', 'bob', 'cy']) await join2(a.wsUrl, room, name);
    first.kill();
    await first.exited;

    const second = new NpmStart(dataDir);
    children.push(second);
    const b = await second.ready();
    const newcomer = await join2(b.wsUrl, room, 'newcomer');
    newcomer.send({ action: 'members' });
    const members = JSON.parse(await nextText(newcomer, 'the members after the restart')) as MembersFrame;
    expect(members).to.deep.include({ type: 'members', room });
    expect(members.members, 'members after the restart').to.deep.equal([{ name: 'newcomer' }]);
    const db = new DynamoDBClient({ endpoint: b.dynamodb, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
    try {
      const { Items } = await db.send(new ScanCommand({ TableName: 'ConnectionsTable' }));
      // Items with a room are connections (the room's presence item has none).
      const connections = (Items ?? []).filter((item) => item.room !== undefined);
      expect(
        connections.map((item) => item.name?.S),
        'connections in the table',
      ).to.deep.equal(['newcomer']);
    } finally {
      db.destroy();
    }
    await say(newcomer, 'nobody else here');
  });
});
