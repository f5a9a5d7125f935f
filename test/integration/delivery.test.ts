/**
 * Delivery through the local runtime and the real handlers:
 * idempotent sends (`clientId`), gaps a connected chat.v1 client can see from `prevId` alone
 * and recover with `history`, failed posts redelivered through the fan-out queue, and a
 * failed confirmation that never turns a stored message into "Internal server error".
 * Faults come from the runtime's fault injection (local/src/faults/faults.ts): `attempts: 3` makes a
 * chosen post fail for good, past the SDK's attempts (two for the Management API). Each fault test prints its figures.
 */
import { QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import type { LocalRuntime } from '../../local/src/index';
import { CHAT_V1, type ChatMessage, type HistoryFrame, type MessageFrame, ULID, uniqueRoom } from './chat-helpers';
import { type Client, PROJECT_TEMPLATE, connect, eventually, startRuntime, storeClient } from './helpers';

type Frame = Record<string, unknown> & { type?: string };

const parse = (text: string): Frame => {
  try {
    return JSON.parse(text) as Frame;
  } catch {
    return { type: 'text', text };
  }
};
const framesOf = (client: Client): Frame[] => client.messages.map(parse);
const messagesOf = (client: Client): MessageFrame[] => framesOf(client).filter((f) => f.type === 'message') as unknown as MessageFrame[];
/** API Gateway's answer to a failed invocation: {"message":"Internal server error",…}, no type. */
const gatewayErrors = (client: Client): Frame[] =>
  framesOf(client).filter((f) => f.type === undefined && f.message === 'Internal server error');

/** The stored messages of a room (its own partition only), oldest first. */
async function stored(db: DynamoDBClient, table: string, room: string): Promise<{ id: string; text: string; prevId?: string }[]> {
  const { Items } = await db.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'room = :r',
      ExpressionAttributeValues: { ':r': { S: room } },
      ConsistentRead: true,
    }),
  );
  return (Items ?? []).map((i) => ({ id: i.id?.S ?? '', text: i.text?.S ?? '', ...(i.prevId?.S !== undefined && { prevId: i.prevId.S }) }));
}

/**
 * What a client that holds its room from the beginning (it joined it empty, as the chat page
 * learns from the empty history it loads at join) can tell from its message frames alone: the
 * messages it holds whose `prevId` it does not hold.
 */
function gaps(held: Map<string, ChatMessage>): ChatMessage[] {
  return [...held.values()].filter((m) => m.prevId !== undefined && !held.has(m.prevId));
}

/** Sends and waits for the confirmation with this clientId; resends it (idempotent) when none comes in time. */
async function sendUntilConfirmed(client: Client, text: string, clientId: string, tries = 4, waitMs = 15_000): Promise<MessageFrame> {
  for (let attempt = 1; ; attempt += 1) {
    client.send({ action: 'sendmessage', message: text, clientId });
    try {
      return await eventually(
        async () => messagesOf(client).find((m) => (m as { clientId?: string }).clientId === clientId),
        waitMs,
        `confirmation of ${clientId}`,
      );
    } catch (error: unknown) {
      if (attempt >= tries) throw error;
    }
  }
}

describe('delivery: idempotent sends, gaps a client can see, redelivery (local runtime, real handlers)', function () {
  this.timeout(180_000);
  let runtime: LocalRuntime;
  let db: DynamoDBClient;
  let clients: Client[] = [];
  let table: string;

  const join = async (room: string, name: string): Promise<Client> => {
    const client = await connect(`${runtime.wsUrl}?room=${room}&name=${name}`, { protocols: [CHAT_V1] });
    clients.push(client);
    return client;
  };

  before(async () => {
    runtime = await startRuntime({ templatePath: PROJECT_TEMPLATE, prewarm: true });
    db = storeClient(runtime);
    table = runtime.tables.MessagesTable as string;
  });

  afterEach(async () => {
    runtime.faults.set({});
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
  });

  after(async () => {
    db?.destroy();
    await runtime?.close();
  });

  it('a repeated clientId stores once, reaches the room once and is confirmed with the original message', async () => {
    const room = uniqueRoom('idempotent');
    const alice = await join(room, 'alice');
    const bob = await join(room, 'bob');

    const first = await sendUntilConfirmed(alice, 'only once', 'c-1', 1);
    alice.send({ action: 'sendmessage', message: 'only once', clientId: 'c-1' });
    const repeats = await eventually(
      async () => {
        const confirmations = messagesOf(alice).filter((m) => (m as { clientId?: string }).clientId === 'c-1');
        return confirmations.length === 2 ? confirmations : undefined;
      },
      10_000,
      'the repeat confirmed',
    );
    await alice.quietFor(300);

    expect(first.id).to.match(ULID);
    expect(repeats[1], 'confirmed with the original (same id, same sentAt)').to.deep.equal(repeats[0]);
    expect(
      (await stored(db, table, room)).map((m) => m.text),
      'stored once',
    ).to.deep.equal(['only once']);
    expect(
      messagesOf(bob).map((m) => m.id),
      'the room received it once',
    ).to.deep.equal([first.id]);
    expect(messagesOf(bob)[0], 'the clientId goes to its sender only').to.not.have.property('clientId');
  });

  it('refuses a clientId outside 1-64 of A-Z a-z 0-9 _ - with invalid_request, storing nothing', async () => {
    const room = uniqueRoom('clientid');
    const alice = await join(room, 'alice');
    alice.send({ action: 'sendmessage', message: 'bad id', clientId: 'has spaces' });
    const error = await eventually(async () => framesOf(alice).find((f) => f.type === 'error'), 10_000, 'the error');
    expect(error).to.deep.include({ code: 'invalid_request', message: 'clientId: clientId must be 1 to 64 of A-Z a-z 0-9 _ -' });
    expect(await stored(db, table, room)).to.deep.equal([]);
  });

  it("chains a room's messages: each names the one stored before it (prevId), two senders at once included", async () => {
    const room = uniqueRoom('chain');
    const people = [await join(room, 'a'), await join(room, 'b'), await join(room, 'c')];
    await Promise.all(
      people.map(async (client, i) => {
        for (let n = 0; n < 5; n += 1) await sendUntilConfirmed(client, `${i}-${n}`, `k${i}-${n}`);
      }),
    );
    const messages = (await stored(db, table, room)).sort((x, y) => (x.id < y.id ? -1 : 1));
    expect(messages).to.have.length(15);
    expect(messages[0], "the room's first message has no prevId").to.not.have.property('prevId');
    for (let k = 1; k < messages.length; k += 1) expect(messages[k]?.prevId, `message ${k} follows ${k - 1}`).to.equal(messages[k - 1]?.id);
  });

  it('under post429 faults, members that stayed connected see every gap from prevId alone, recover it with history, and redeliveries bring the rest', async () => {
    const room = uniqueRoom('gaps');
    const members = 6;
    const perSender = 6;
    const people: Client[] = [];
    for (let i = 0; i < members; i += 1) people.push(await join(room, `m${i}`));
    runtime.faults.resetStats();
    // A fifth of the posts fail for good: 429 on each of the SDK's attempts.
    runtime.faults.set({ seed: 20, post: { throttle: 0.2, attempts: 3 } });

    await Promise.all(
      people.map(async (client, i) => {
        for (let n = 0; n < perSender; n += 1) await sendUntilConfirmed(client, `m${i} #${n}`, `m${i}-${n}`);
      }),
    );
    const faults = runtime.faults.stats().post;
    runtime.faults.set({});
    const all = (await stored(db, table, room)).sort((x, y) => (x.id < y.id ? -1 : 1));

    // What each member held when the sending ended, what it could tell was missing, and what history gave back.
    let missedLive = 0;
    let detected = 0;
    let recovered = 0;
    for (const client of people) {
      const held = new Map(messagesOf(client).map((m) => [m.id, m as ChatMessage]));
      missedLive += all.filter((m) => !held.has(m.id)).length;
      for (let gap = gaps(held)[0]; gap !== undefined; gap = gaps(held)[0]) {
        detected += 1;
        const after = [...held.keys()]
          .filter((id) => id < (gap?.prevId ?? ''))
          .sort()
          .pop();
        client.send({ action: 'history', limit: 100, ...(after !== undefined && { after }) });
        const page = await eventually(
          async () =>
            framesOf(client)
              .filter((f) => f.type === 'history')
              .pop() as HistoryFrame | undefined,
          10_000,
          'history',
        );
        client.messages.splice(0, client.messages.length, ...client.messages.filter((t) => !t.startsWith('{"type":"history"')));
        for (const m of page.messages)
          if (!held.has(m.id)) {
            held.set(m.id, m);
            recovered += 1;
          }
        if (!held.has(gap.prevId as string)) throw new Error(`history does not have ${gap.prevId}`);
      }
      // Nothing missing stays undetected in the middle: what is still missing is newer than all it holds.
      const newest = [...held.keys()].sort().pop() ?? '';
      const hidden = all.filter((m) => !held.has(m.id) && m.id < newest);
      expect(
        hidden.map((m) => m.text),
        'missed without a gap to show it',
      ).to.deep.equal([]);
    }
    // Posts that failed for good were queued again: each member ends up with every message, live.
    for (const client of people) {
      await eventually(
        async () => (all.every((m) => messagesOf(client).some((f) => f.id === m.id)) ? true : undefined),
        45_000,
        'every message, redelivered',
      );
    }
    const errors = people.flatMap(gatewayErrors);
    console.log(
      `      delivery: ${faults.calls} posts, ${faults.injected.throttle ?? 0} attempts answered 429, ${faults.faultedCalls - faults.recovered} posts failed for good; ` +
        `${all.length} messages × ${members} members: ${missedLive} missed live, ${detected} gaps seen from prevId, ${recovered} recovered with history, ` +
        `the rest redelivered; ${errors.length} "Internal server error"`,
    );

    // Posts failed for good, so members missed messages live (how many were still missing when
    // the sending ended depends on how soon the redeliveries came: the figures above say).
    expect(faults.faultedCalls - faults.recovered, 'posts that failed for good').to.be.greaterThan(0);
    expect(all.map((m) => m.text).sort(), 'every message stored once (resends are idempotent)').to.deep.equal(
      people.flatMap((_c, i) => Array.from({ length: perSender }, (_x, n) => `m${i} #${n}`)).sort(),
    );
    expect(errors, 'no "Internal server error"').to.deep.equal([]);
  });

  it('a confirmation that fails for good is no "Internal server error": it is redelivered, and a repeat is confirmed with the same message', async () => {
    const room = uniqueRoom('confirm');
    const alice = await join(room, 'alice');
    runtime.faults.resetStats();
    runtime.faults.set({ seed: 3, post: { throttle: 1, attempts: 3 } });
    alice.send({ action: 'sendmessage', message: 'stored, not confirmed', clientId: 'late-1' });
    await eventually(
      async () => ((runtime.faults.stats().post.faultedCalls ?? 0) > 0 ? true : undefined),
      10_000,
      'the confirmation post failed',
    );
    await eventually(
      async () =>
        (runtime.stats().SendMessageFunction?.invocations ?? 0) > 0 && (await stored(db, table, room)).length === 1 ? true : undefined,
      10_000,
      'stored',
    );
    runtime.faults.set({});

    const late = await eventually(
      async () => messagesOf(alice).find((m) => (m as { clientId?: string }).clientId === 'late-1'),
      20_000,
      'the redelivered confirmation',
    );
    alice.send({ action: 'sendmessage', message: 'stored, not confirmed', clientId: 'late-1' });
    await eventually(async () => (messagesOf(alice).length === 2 ? true : undefined), 10_000, 'the repeat confirmed');

    expect(gatewayErrors(alice), 'no "Internal server error"').to.deep.equal([]);
    expect(late.text).to.equal('stored, not confirmed');
    expect(messagesOf(alice)[1], 'the repeat: the same message').to.deep.equal(late);
    expect((await stored(db, table, room)).map((m) => m.id)).to.deep.equal([late.id]);
  });
});
