/**
 * Rooms, formats, presence and members (README "Using the chat"), through the local
 * runtime with the project's template and real `ws` clients: nothing of one room reaches
 * another, each recipient gets the format it asked for, chat.v1 clients see who comes and
 * goes, and `members` lists the room.
 */
import { expect } from 'chai';
import { ChatRuntime, expectMessageFrame, expectSilence, history, nextFrame, nextText, say, uniqueRoom } from './chat-helpers';
import type { Client } from './helpers';

describe('chat: rooms, formats, presence and members (template.yaml, real handlers)', () => {
  const chat = new ChatRuntime();
  before(() => chat.start());
  afterEach(() => chat.closeClients());
  after(() => chat.stop());

  const membersOf = async (client: Client, room: string): Promise<string[]> => {
    client.send({ action: 'members' });
    const frame = await nextFrame(client, 'members', `the members of ${room}`);
    expect(frame.room).to.equal(room);
    // `connections` only for a person with several connections in the page.
    for (const member of frame.members)
      expect(Object.keys(member), 'a member is { name, connections? }').to.satisfy(
        (keys: string[]) => keys[0] === 'name' && keys.every((key) => key === 'name' || key === 'connections'),
      );
    expect(frame.hasMore, 'one page for a small room').to.equal(false);
    return frame.members.map((member) => member.name);
  };

  describe('rooms are isolated', () => {
    it('messages of room A, from chat.v1 and plain senders, never reach room B (and back)', async () => {
      const a = uniqueRoom('iso-a');
      const b = uniqueRoom('iso-b');
      // Plain clients first: each chat.v1 client then joins a room with no one to announce.
      const aPlain = await chat.join({ room: a, name: 'a-plain' });
      const bPlain = await chat.join({ room: b, name: 'b-plain' });
      const aV1 = await chat.join({ room: a, name: 'a-v1', v1: true });
      const bV1 = await chat.join({ room: b, name: 'b-v1', v1: true });

      await say(aV1, 'for A only (chat.v1)');
      expect(await nextText(aPlain, "A's chat.v1 message at A's plain member")).to.equal('for A only (chat.v1)');
      aPlain.send({ action: 'sendmessage', message: 'for A only (plain)' });
      expectMessageFrame(await nextFrame(aV1, 'message', "A's plain message at A's chat.v1 member"), {
        room: a,
        name: 'a-plain',
        text: 'for A only (plain)',
      });
      await Promise.all([expectSilence(bV1, "room B's chat.v1 client"), expectSilence(bPlain, "room B's plain client")]);

      await say(bV1, 'for B only (chat.v1)');
      expect(await nextText(bPlain, "B's message at B's plain member")).to.equal('for B only (chat.v1)');
      await Promise.all([expectSilence(aV1, "room A's chat.v1 client"), expectSilence(aPlain, "room A's plain client")]);

      const bHistory = await history(bV1, { limit: 100 });
      expect(bHistory.room).to.equal(b);
      expect(
        bHistory.messages.map((m) => m.text),
        "B's history",
      ).to.deep.equal(['for B only (chat.v1)']);
      const aHistory = await history(aV1, { limit: 100 });
      expect(
        aHistory.messages.map((m) => m.text),
        "A's history",
      ).to.deep.equal(['for A only (chat.v1)', 'for A only (plain)']);
      expect(await membersOf(bV1, b)).to.have.members(['b-plain', 'b-v1']);
    });
  });

  describe('each recipient gets the format it asked for', () => {
    let room: string;
    let v1Sender: Client;
    let v1Recipient: Client;
    let plainRecipient: Client;
    let plainSender: Client;

    beforeEach(async () => {
      room = uniqueRoom('formats');
      plainRecipient = await chat.join({ room, name: 'plain-recipient' });
      plainSender = await chat.join({ room, name: 'plain-sender' });
      v1Recipient = await chat.join({ room, name: 'v1-recipient', v1: true });
      v1Sender = await chat.join({ room, name: 'v1-sender', v1: true });
      expect(await nextFrame(v1Recipient, 'presence', 'the join of v1-sender')).to.include({ event: 'join', name: 'v1-sender' });
    });

    it('a chat.v1 sender receives its own message frame; chat.v1 recipients the same frame, plain ones the raw text', async () => {
      const confirmation = await say(v1Sender, 'one message, two formats');
      expectMessageFrame(confirmation, { room, name: 'v1-sender', text: 'one message, two formats' });
      expect(await nextFrame(v1Recipient, 'message', 'the message at the chat.v1 recipient')).to.deep.equal(confirmation);
      expect(await nextText(plainRecipient, 'the raw text at the plain recipient')).to.equal('one message, two formats');
      expect(await nextText(plainSender, 'the raw text at the other plain client')).to.equal('one message, two formats');
      await expectSilence(v1Sender, 'the chat.v1 sender, after its one confirmation');
    });

    it('a plain sender receives nothing back; everyone else gets the message once, in its format', async () => {
      plainSender.send({ action: 'sendmessage', message: 'from a wscat user' });
      const atV1 = await nextFrame(v1Recipient, 'message', "the plain sender's message at a chat.v1 client");
      expectMessageFrame(atV1, { room, name: 'plain-sender', text: 'from a wscat user' });
      expect(await nextFrame(v1Sender, 'message', 'the message at the other chat.v1 client')).to.deep.equal(atV1);
      expect(await nextText(plainRecipient, 'the raw text at the plain recipient')).to.equal('from a wscat user');
      await Promise.all([
        expectSilence(plainSender, 'the plain sender (as in the tutorial)'),
        expectSilence(plainRecipient, 'the plain recipient, after the one text'),
        expectSilence(v1Recipient, 'the chat.v1 recipient, after the one frame'),
      ]);
    });

    it('text is delivered byte for byte: quotes, backslashes, HTML, JSON-looking text and emoji', async () => {
      const text = 'She said "hi" \\o/ <b>bold</b> {"type":"error"} 🙂 ünïcödé';
      const confirmation = await say(v1Sender, text);
      expect(confirmation.text).to.equal(text);
      expect((await nextFrame(v1Recipient, 'message')).text).to.equal(text);
      expect(await nextText(plainRecipient, 'the raw text')).to.equal(text);
    });
  });

  describe('control characters in messages', () => {
    it('ESC[31m and other controls reach recipients (and history) as U+FFFD; tab and newline stay', async () => {
      const room = uniqueRoom('controls');
      const plain = await chat.join({ room, name: 'terminal-user' });
      const watcher = await chat.join({ room, name: 'watcher', v1: true });
      const sender = await chat.join({ room, name: 'sender', v1: true });
      await nextFrame(watcher, 'presence', 'the join of the sender');
      const sent = 'red \u001b[31malert\u001b[0m\tok\nbell\u0007 nul\u0000 del\u007f csi\u009b \u202eevil';
      const shown = 'red \ufffd[31malert\ufffd[0m\tok\nbell\ufffd nul\ufffd del\ufffd csi\ufffd \ufffdevil';
      sender.send({ action: 'sendmessage', message: sent });
      expect(await nextText(plain, 'the message at the plain recipient')).to.equal(shown);
      expect((await nextFrame(watcher, 'message', 'the message at the chat.v1 recipient')).text).to.equal(shown);
      expect((await nextFrame(sender, 'message', "the sender's confirmation")).text).to.equal(shown);
      expect((await history(watcher, { limit: 1 })).messages.map((m) => m.text)).to.deep.equal([shown]);
    });
  });

  describe('presence', () => {
    it('a chat.v1 client sees join and leave of its room; plain clients and other rooms see nothing', async () => {
      const room = uniqueRoom('presence');
      const elsewhere = await chat.join({ room: uniqueRoom('presence-other'), name: 'elsewhere', v1: true });
      const plain = await chat.join({ room, name: 'plain-member' });
      const watcher = await chat.join({ room, name: 'watcher', v1: true });

      const newcomer = await chat.join({ room, name: 'newcomer', v1: true });
      expect(await nextFrame(watcher, 'presence', 'the join of a chat.v1 newcomer')).to.deep.equal({
        type: 'presence',
        event: 'join',
        room,
        name: 'newcomer',
      });
      const wscat = await chat.join({ room, name: 'wscat-user' });
      expect(await nextFrame(watcher, 'presence', 'the join of a plain newcomer')).to.deep.equal({
        type: 'presence',
        event: 'join',
        room,
        name: 'wscat-user',
      });
      expect(await nextFrame(newcomer, 'presence', 'the join seen by the earlier newcomer')).to.deep.equal({
        type: 'presence',
        event: 'join',
        room,
        name: 'wscat-user',
      });

      await newcomer.close();
      expect(await nextFrame(watcher, 'presence', 'the leave of the chat.v1 newcomer')).to.deep.equal({
        type: 'presence',
        event: 'leave',
        room,
        name: 'newcomer',
      });
      await wscat.close();
      expect(await nextFrame(watcher, 'presence', 'the leave of the plain newcomer')).to.deep.equal({
        type: 'presence',
        event: 'leave',
        room,
        name: 'wscat-user',
      });

      await Promise.all([
        expectSilence(plain, 'the plain member (no presence frames in plain mode)'),
        expectSilence(elsewhere, 'a chat.v1 client of another room'),
        expectSilence(watcher, 'the watcher, after the two joins and two leaves'),
      ]);
    });

    it('a client that drops without a close handshake is announced as leaving', async () => {
      const room = uniqueRoom('presence-drop');
      const watcher = await chat.join({ room, name: 'watcher', v1: true });
      const dropper = await chat.join({ room, name: 'dropper', v1: true });
      await nextFrame(watcher, 'presence', 'the join of the dropper');
      dropper.ws.terminate();
      expect(await nextFrame(watcher, 'presence', 'the leave of a dropped connection')).to.deep.equal({
        type: 'presence',
        event: 'leave',
        room,
        name: 'dropper',
      });
    });
  });

  describe('members', () => {
    it("lists the room's names, each once, not other rooms'; follows leaves", async () => {
      const room = uniqueRoom('members');
      await chat.join({ room: uniqueRoom('members-other'), name: 'dave' });
      const bob = await chat.join({ room, name: 'bob' });
      await chat.join({ room, name: 'carol' });
      const carolV1 = await chat.join({ room, name: 'carol', v1: true });
      const alice = await chat.join({ room, name: 'alice', v1: true });

      const names = await membersOf(alice, room);
      expect(names, 'each name once').to.have.length(new Set(names).size);
      expect(names).to.have.members(['alice', 'bob', 'carol']);

      await carolV1.close();
      expect(await nextFrame(alice, 'presence', 'the leave of one carol')).to.include({ event: 'leave', name: 'carol' });
      expect(await membersOf(alice, room), 'the other carol is still here').to.have.members(['alice', 'bob', 'carol']);

      await bob.close();
      expect(await nextFrame(alice, 'presence', 'the leave of bob')).to.include({ event: 'leave', name: 'bob' });
      expect(await membersOf(alice, room)).to.have.members(['alice', 'carol']);
    });

    it("a plain client gets the room's names as text", async () => {
      const room = uniqueRoom('members-plain');
      await chat.join({ room: uniqueRoom('members-plain-other'), name: 'outsider' });
      await chat.join({ room, name: 'zoe', v1: true });
      const plain = await chat.join({ room, name: 'yann' });
      plain.send({ action: 'members' });
      const text = await nextText(plain, 'the members as text');
      expect(() => JSON.parse(text), `plain mode is not JSON: ${text}`).to.throw();
      expect(text).to.include('zoe').and.include('yann').and.include(room).and.not.include('outsider');
    });
  });
});
