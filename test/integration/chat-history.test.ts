/**
 * History and catch-up (README "Using the chat"): messages are stored before anyone
 * receives them, `history` pages through a room oldest first with `hasMore`, `before` /
 * `after` cursors and a bounded `limit`, and a client that drops and returns fetches
 * exactly what it missed. Real handlers (template.yaml) behind the local runtime.
 */
import { expect } from 'chai';
import {
  ChatRuntime,
  expectError,
  expectSilence,
  history,
  nextFrame,
  nextText,
  say,
  uniqueRoom,
  type ChatFrame,
  type ChatMessage,
  type MessageFrame,
  type PresenceFrame,
} from './chat-helpers';
import type { Client } from './helpers';

describe('chat: history and catch-up (template.yaml, real handlers)', () => {
  const chat = new ChatRuntime();
  before(() => chat.start());
  afterEach(() => chat.closeClients());
  after(() => chat.stop());

  const ids = (messages: { id: string }[]): string[] => messages.map((m) => m.id);

  describe('paging', () => {
    let room: string;
    let reader: Client;
    let plainReader: Client;
    /** Five messages of the room, in the order they were sent (one at a time). */
    let sent: MessageFrame[];

    before(async () => {
      room = uniqueRoom('history');
      const writer = await chat.join({ room, name: 'writer', v1: true });
      // Another room's messages, sent in between, must never show up in this room's history.
      const neighbour = await chat.join({ room: uniqueRoom('history-neighbour'), name: 'neighbour', v1: true });
      sent = [];
      for (let i = 1; i <= 5; i += 1) {
        sent.push(await say(writer, `message ${i}`));
        await say(neighbour, `neighbour ${i}`);
      }
      const sorted = [...ids(sent)].sort();
      expect(ids(sent), 'ids sort in the order the messages were sent').to.deep.equal(sorted);
      expect(new Set(ids(sent)).size, 'ids are unique').to.equal(5);
      // The readers stay for the whole block, so no join or leave reaches them in between.
      reader = await chat.join({ room, name: 'reader', v1: true, keep: true });
      plainReader = await chat.join({ room, name: 'plain-reader', keep: true });
      expect(await nextFrame(reader, 'presence', 'the join of the plain reader')).to.include({ event: 'join', name: 'plain-reader' });
      await chat.closeClients();
      expect(await nextFrame(reader, 'presence', 'the leave of the writer')).to.include({ event: 'leave', name: 'writer' });
    });
    beforeEach(() => {
      // A failed test may leave an answer unread; it must not fail the next one too.
      reader.messages.splice(0);
      plainReader.messages.splice(0);
    });

    const page = (from: number, to: number): ChatMessage[] =>
      sent.slice(from, to).map(({ id, room: r, name, text, sentAt, prevId }) => ({
        id,
        room: r,
        name,
        text,
        sentAt,
        ...(prevId !== undefined && { prevId }),
      }));

    it('without a cursor: the latest N, oldest first, with hasMore', async () => {
      const latest = await history(reader, { limit: 3 });
      expect(latest).to.deep.equal({ type: 'history', room, messages: page(2, 5), hasMore: true });
    });

    it('a limit covering the room: everything, hasMore false (the default limit too)', async () => {
      expect(await history(reader, { limit: 5 })).to.deep.equal({ type: 'history', room, messages: page(0, 5), hasMore: false });
      expect(await history(reader, { limit: 100 })).to.deep.equal({ type: 'history', room, messages: page(0, 5), hasMore: false });
      expect(await history(reader)).to.deep.equal({ type: 'history', room, messages: page(0, 5), hasMore: false });
    });

    it('before an id: the N just before it, oldest first; hasMore says whether older ones remain', async () => {
      expect(await history(reader, { limit: 2, before: sent[4]?.id })).to.deep.equal({
        type: 'history',
        room,
        messages: page(2, 4),
        hasMore: true,
      });
      expect(await history(reader, { limit: 2, before: sent[2]?.id })).to.deep.equal({
        type: 'history',
        room,
        messages: page(0, 2),
        hasMore: false,
      });
      expect(await history(reader, { limit: 2, before: sent[0]?.id })).to.deep.equal({
        type: 'history',
        room,
        messages: [],
        hasMore: false,
      });
    });

    it('after an id: the N just after it, oldest first; hasMore says whether newer ones remain', async () => {
      expect(await history(reader, { limit: 2, after: sent[0]?.id })).to.deep.equal({
        type: 'history',
        room,
        messages: page(1, 3),
        hasMore: true,
      });
      expect(await history(reader, { limit: 2, after: sent[2]?.id })).to.deep.equal({
        type: 'history',
        room,
        messages: page(3, 5),
        hasMore: false,
      });
      expect(await history(reader, { limit: 10, after: sent[1]?.id })).to.deep.equal({
        type: 'history',
        room,
        messages: page(2, 5),
        hasMore: false,
      });
      expect(await history(reader, { limit: 2, after: sent[4]?.id })).to.deep.equal({
        type: 'history',
        room,
        messages: [],
        hasMore: false,
      });
    });

    it('walking back with before, page by page, visits every message once', async () => {
      const seen: ChatMessage[] = [];
      let cursor: string | undefined;
      for (let pages = 0; ; pages += 1) {
        expect(pages, 'pages needed').to.be.below(5);
        const answer = await history(reader, cursor === undefined ? { limit: 2 } : { limit: 2, before: cursor });
        seen.unshift(...answer.messages);
        if (!answer.hasMore) break;
        cursor = answer.messages[0]?.id;
      }
      expect(seen).to.deep.equal(page(0, 5));
    });

    it('a plain client gets history as text, oldest first', async () => {
      plainReader.send({ action: 'history', limit: 2 });
      const text = await nextText(plainReader, 'the history as text');
      expect(text.indexOf('message 4'), text).to.be.greaterThan(-1).and.below(text.indexOf('message 5'));
      expect(text).not.to.include('message 3');
    });

    it('a room without messages: an empty page', async () => {
      const alone = await chat.join({ room: uniqueRoom('history-empty'), name: 'alone', v1: true });
      const answer = await history(alone, { limit: 10 });
      expect(answer).to.deep.equal({ type: 'history', room: answer.room, messages: [], hasMore: false });
      expect(answer.room).to.match(/^history-empty-/);
    });

    describe('invalid history requests: invalid_request to the caller only', () => {
      const invalid: [string, Record<string, unknown>][] = [
        ['limit 0', { limit: 0 }],
        ['limit 101', { limit: 101 }],
        ['limit "10" (a string)', { limit: '10' }],
        ['limit -1', { limit: -1 }],
        ['limit 2.5', { limit: 2.5 }],
        ['limit null', { limit: null }],
        ['before and after together', { limit: 2, before: 'B', after: 'A' }],
        ['before not a message id', { limit: 2, before: 'yesterday' }],
        ['after a number', { limit: 2, after: 5 }],
      ];
      for (const [label, request] of invalid) {
        it(label, async () => {
          const body = { ...request };
          if (body.before === 'B') body.before = sent[3]?.id;
          if (body.after === 'A') body.after = sent[1]?.id;
          await expectError(reader, { action: 'history', ...body }, 'invalid_request');
          // The conversation goes on: the same client's next valid request is answered.
          expect((await history(reader, { limit: 1 })).messages).to.deep.equal(page(4, 5));
          await expectSilence(plainReader, 'the other member of the room');
        });
      }

      it('a plain client gets the error as "Error: …" text', async () => {
        plainReader.send({ action: 'history', limit: 101 });
        expect(await nextText(plainReader, 'the error as text')).to.match(/^Error: \S/);
        await expectSilence(reader, 'the other member of the room');
      });
    });
  });

  describe('catch-up after a reconnect', () => {
    it('history after the last id seen returns exactly the missed messages, in order', async () => {
      const room = uniqueRoom('catch-up');
      const speaker = await chat.join({ room, name: 'speaker', v1: true });
      const listener = await chat.join({ room, name: 'listener', v1: true });
      await nextFrame(speaker, 'presence', 'the join of the listener');
      // The listener records the id of each message it receives, as a client would.
      let lastId = '';
      for (const text of ['before the drop 1', 'before the drop 2', 'before the drop 3']) {
        await say(speaker, text);
        const frame = await nextFrame(listener, 'message', `"${text}" at the listener`);
        expect(frame.text).to.equal(text);
        lastId = frame.id;
      }

      await listener.close();
      expect(await nextFrame(speaker, 'presence', "the listener's leave")).to.include({ event: 'leave', name: 'listener' });

      const missed: MessageFrame[] = [];
      for (let i = 1; i <= 6; i += 1) missed.push(await say(speaker, `while away ${i}`));

      const back = await chat.join({ room, name: 'listener', v1: true });
      await nextFrame(speaker, 'presence', "the listener's return");
      const caughtUp = await history(back, { limit: 100, after: lastId });
      expect(caughtUp.hasMore).to.equal(false);
      expect(caughtUp.messages.map((m) => m.text)).to.deep.equal(missed.map((m) => m.text));
      expect(caughtUp.messages).to.deep.equal(missed.map(({ type: _type, ...message }) => message));

      // Live again: the next message arrives as usual, once.
      const next = await say(speaker, 'welcome back');
      expect(await nextFrame(back, 'message', 'the first live message after the catch-up')).to.deep.equal(next);
      await expectSilence(back, 'the returned listener, after one live message');
    });

    it('bursts from several senders while away: paging after the last id, nothing lost, no duplicates', async () => {
      const room = uniqueRoom('catch-up-burst');
      // Plain senders: no presence frames or confirmations to read; their messages are the same.
      const senders = await Promise.all(['s1', 's2', 's3', 's4', 's5', 's6'].map((name) => chat.join({ room, name })));
      const observer = await chat.join({ room, name: 'observer', v1: true });
      const away = await chat.join({ room, name: 'away', v1: true });
      senders[0]?.send({ action: 'sendmessage', message: 'seen by everyone' });
      const lastSeen = (await nextFrame(away, 'message', 'the last message before leaving')).id;
      // The join of `away` (coalesced presence) and the message, in either order.
      const seen = [JSON.parse(await observer.next()) as ChatFrame, JSON.parse(await observer.next()) as ChatFrame];
      const joined = seen.flatMap((frame) =>
        frame.type !== 'presence' ? [] : 'changes' in frame ? (frame.changes as PresenceFrame[]) : [frame],
      );
      expect(joined.map((change) => `${change.event} ${change.name}`)).to.include('join away');
      expect(seen.find((frame) => frame.type === 'message')).to.include({ id: lastSeen });
      await away.close();
      expect(await nextFrame(observer, 'presence', 'the leave of the client going away')).to.include({ event: 'leave', name: 'away' });

      // Two rounds of one message from each sender at once (concurrent invocations, one
      // message in flight per connection).
      const delivered: MessageFrame[] = [];
      for (const round of [1, 2]) {
        senders.forEach((sender, s) => sender.send({ action: 'sendmessage', message: `burst ${round} from s${s + 1}` }));
        while (delivered.length < round * senders.length) {
          delivered.push(await nextFrame(observer, 'message', `message ${delivered.length + 1} of the bursts at the observer`));
        }
      }

      const back = await chat.join({ room, name: 'away', v1: true });
      const caughtUp: ChatMessage[] = [];
      let cursor = lastSeen;
      for (let pages = 0; ; pages += 1) {
        expect(pages, 'pages needed for 12 messages, 5 a page').to.be.below(3);
        const answer = await history(back, { limit: 5, after: cursor });
        caughtUp.push(...answer.messages);
        if (!answer.hasMore) break;
        cursor = answer.messages[answer.messages.length - 1]?.id as string;
      }
      expect(new Set(ids(caughtUp)).size, 'no duplicates').to.equal(caughtUp.length);
      expect(ids(caughtUp), 'oldest first (sorted by id)').to.deep.equal([...ids(caughtUp)].sort());
      expect([...ids(caughtUp)].sort(), 'exactly what the others received').to.deep.equal([...ids(delivered)].sort());
      expect(caughtUp.map((m) => m.text).sort()).to.deep.equal(
        [1, 2].flatMap((round) => senders.map((_, s) => `burst ${round} from s${s + 1}`)).sort(),
      );
    });
  });
});
