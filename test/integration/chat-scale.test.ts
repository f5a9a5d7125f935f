/**
 * The chat within API Gateway's limits and the functions' time, through the local runtime
 * (template.yaml, real handlers): members of a large room of long names come in pages, each
 * under 128 KB; a slow Management API makes direct fan-out hand what it cannot finish to the
 * queue, and everyone still gets the message exactly once; a client reconnecting in a loop
 * costs its room a bounded number of presence frames, coalesced.
 */
import { BatchWriteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import { ChatRuntime, nextFrame, uniqueRoom, type ChatFrame, type MembersFrame, type PresenceFrame } from './chat-helpers';
import { storeClient, type Client } from './helpers';

/** API Gateway's limit on a message posted to a connection. */
const MAX_POST_BYTES = 128 * 1024;

describe('chat at scale: members pages, fan-out within its time, coalesced presence (template.yaml)', function () {
  this.timeout(180_000);
  const chat = new ChatRuntime();
  let db: DynamoDBClient;
  before(async () => {
    await chat.start();
    db = storeClient(chat.runtime);
  });
  afterEach(async () => {
    chat.runtime.faults.set({});
    await chat.closeClients();
  });
  after(async () => {
    db?.destroy();
    await chat.stop();
  });

  /**
   * `count` connections of 32-emoji names stored in a room, as $connect stores them (written to
   * the store directly: the members route reads the room index, and 1,000 sockets would only
   * add load).
   */
  async function storeRoom(room: string, count: number): Promise<void> {
    const now = Date.now();
    const items = Array.from({ length: count }, (_, i) => ({
      PutRequest: {
        Item: {
          connectionId: { S: `seed${String(i).padStart(6, '0')}AAAAAA=` },
          room: { S: room },
          name: { S: `${'🦄'.repeat(28)}${String(i).padStart(4, '0')}` },
          protocol: { S: 'chat.v1' },
          connectedAt: { N: String(now) },
          expiresAt: { N: String(Math.floor(now / 1000) + 3600) },
          rateAt: { N: '0' },
        },
      },
    }));
    for (let start = 0; start < items.length; start += 25) {
      await db.send(
        new BatchWriteItemCommand({ RequestItems: { [chat.runtime.tables.ConnectionsTable as string]: items.slice(start, start + 25) } }),
      );
    }
  }

  it('members of 1,000 connections with 32-emoji names: pages under 128 KB with hasMore and a cursor, everyone once', async () => {
    const room = uniqueRoom('members-scale');
    await storeRoom(room, 1000);
    const reader = await chat.join({ room, name: '🦄'.repeat(32), v1: true });

    const names: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      reader.send({ action: 'members', ...(after !== undefined && { after }) });
      const raw = await reader.next(20_000);
      expect(raw, 'a members page, not an error').to.not.match(/Internal server error/);
      expect(Buffer.byteLength(raw), 'a members page in bytes').to.be.below(MAX_POST_BYTES);
      const page = JSON.parse(raw) as MembersFrame;
      expect(page.type).to.equal('members');
      names.push(...page.members.map((member) => member.name));
      after = page.hasMore ? page.next : undefined;
      if (page.hasMore) expect(page.next, 'the cursor of the next page').to.be.a('string');
      pages += 1;
    } while (after !== undefined);

    expect(pages, 'pages').to.be.greaterThan(1);
    expect(names).to.have.length(1001);
    expect(new Set(names).size).to.equal(1001);

    reader.send({ action: 'members', after: 'made-up cursor' });
    expect(JSON.parse(await reader.next())).to.deep.equal({
      type: 'error',
      code: 'invalid_request',
      message: 'after: must be the next cursor of a members answer',
    });
  });

  /** How many calls SendMessageFunction made to the fan-out queue (IAM's record of its grants). */
  const queueSendsBySendMessage = (): number =>
    chat.runtime.iam
      .report()
      .find((r) => r.functionId === 'SendMessageFunction')
      ?.grants.find((g) => g.action === 'sqs:SendMessage')?.used ?? 0;

  it('a slow Management API: direct fan-out hands the recipients it has no time for to the queue; everyone gets the message once', async () => {
    const room = uniqueRoom('slow-posts');
    // Plain clients: no presence frames, only the message. With posts of 2 s and 100 at a time,
    // sendmessage (Timeout 10 s) reaches 300 of them before it must stop; the rest go through the queue.
    const recipients: Client[] = [];
    for (let i = 0; i < 350; i += 1) recipients.push(await chat.join({ room, name: `r${i}` }));
    const sender = await chat.join({ room, name: 'sender' });
    const handOffsBefore = queueSendsBySendMessage();
    chat.runtime.faults.set({ post: { latencyMs: 2000 } });

    sender.send({ action: 'sendmessage', message: 'to everyone, slowly' });
    await Promise.all(recipients.map(async (client) => expect(await client.next(60_000)).to.equal('to everyone, slowly')));

    // sendmessage queued those it had no time for (the room is below FanoutThreshold: nothing
    // else makes it queue), and afterwards nobody receives the message a second time.
    expect(queueSendsBySendMessage(), 'shards queued by sendmessage').to.be.greaterThan(handOffsBefore);
    chat.runtime.faults.set({});
    sender.send({ action: 'sendmessage', message: 'and once more' });
    await Promise.all(
      recipients.map(async (client) => expect(await client.next(30_000), 'the next frame, not a duplicate').to.equal('and once more')),
    );
    expect(chat.runtime.stats().SendMessageFunction?.errors ?? 0, 'sendmessage timed out or failed').to.equal(0);
  });

  it('20 reconnects in a loop: the room gets a bounded number of presence frames, with every join and leave', async () => {
    const room = uniqueRoom('reconnects');
    const watcher = await chat.join({ room, name: 'watcher', v1: true });
    let roamer = await chat.join({ room, name: 'roamer', v1: true });
    expect(await nextFrame(watcher, 'presence', 'the join of roamer')).to.include({ event: 'join', name: 'roamer' });

    const started = Date.now();
    for (let i = 0; i < 20; i += 1) {
      await roamer.close();
      roamer = await chat.join({ room, name: 'roamer', v1: true });
    }
    // Every leave and join arrives, in frames that carry several at once.
    const frames: ChatFrame[] = [];
    const changes: string[] = [];
    while (changes.length < 40) {
      const frame = JSON.parse(await watcher.next(15_000)) as ChatFrame & { changes?: PresenceFrame[] };
      expect(frame.type).to.equal('presence');
      frames.push(frame);
      for (const change of frame.changes ?? [frame as PresenceFrame]) changes.push(`${change.event} ${change.name}`);
    }
    const elapsedSeconds = (Date.now() - started) / 1000;
    expect(changes.filter((c) => c === 'leave roamer')).to.have.length(20);
    expect(changes.filter((c) => c === 'join roamer')).to.have.length(20);
    // At most one frame per PresenceIntervalSeconds (1), plus the first of the loop.
    expect(frames.length, `presence frames in ${elapsedSeconds.toFixed(1)} s`).to.be.at.most(Math.ceil(elapsedSeconds) + 1);
    expect(frames.length, 'fewer frames than joins and leaves').to.be.below(40);
  });
});
