/**
 * Joining the chat (README "Using the chat"): `?room=`, `?name=` and the chat.v1
 * subprotocol validated by the real $connect handler behind the local runtime; invalid
 * ones refuse the upgrade with HTTP 400, valid ones land where they say.
 */
import { expect } from 'chai';
import { connect } from './helpers';
import {
  CHAT_V1,
  ChatRuntime,
  chatUrl,
  expectMessageFrame,
  expectSilence,
  nextFrame,
  nextText,
  refusalOf,
  say,
  uniqueRoom,
} from './chat-helpers';

describe('chat: joining a room (template.yaml, real handlers)', () => {
  const chat = new ChatRuntime();
  before(() => chat.start());
  afterEach(() => chat.closeClients());
  after(() => chat.stop());

  describe('refused with 400', () => {
    const invalidRooms: [string, string][] = [
      ['empty', ''],
      ['65 characters', 'r'.repeat(65)],
      ['a space', 'two words'],
      ['a dot', 'a.b'],
      ['a slash', 'a/b'],
      ['a non-ASCII letter', 'café'],
      ['a control character', 'room\u0007'],
    ];
    for (const [label, room] of invalidRooms) {
      it(`?room= with ${label}`, async () => {
        const { status, body } = await refusalOf(chatUrl(chat.runtime, { room }));
        expect(status, body).to.equal(400);
        expect(body).to.match(/room/i);
      });
    }

    const invalidNames: [string, string][] = [
      ['33 characters', 'n'.repeat(33)],
      ['33 characters after trimming', ` ${'n'.repeat(33)} `],
      ['only spaces', '   '],
      ['empty', ''],
      ['ESC', 'bob\u001b[31m'],
      ['a newline', 'bob\nalice'],
      ['NUL', 'bob\u0000'],
      ['DEL', 'bob\u007f'],
      ['a C1 control', 'bob\u009b'],
      ['a right-to-left override', 'bob\u202e'],
    ];
    for (const [label, name] of invalidNames) {
      it(`?name= with ${label}`, async () => {
        const { status, body } = await refusalOf(chatUrl(chat.runtime, { room: uniqueRoom('bad-name'), name }));
        expect(status, body).to.equal(400);
        expect(body).to.match(/name/i);
      });
    }

    it('a subprotocol other than chat.v1, offered alone', async () => {
      const { status, body } = await refusalOf(chatUrl(chat.runtime, { room: uniqueRoom('proto') }), ['chat.v2']);
      expect(status, body).to.equal(400);
      expect(body).to.match(/subprotocol/i);
    });

    it('a refused client is not in the room: members and messages never see it', async () => {
      const room = uniqueRoom('refused');
      const member = await chat.join({ room, name: 'member', v1: true });
      await refusalOf(chatUrl(chat.runtime, { room, name: 'x'.repeat(40) }));
      await refusalOf(chatUrl(chat.runtime, { room, name: 'late' }), ['nope']);
      member.send({ action: 'members' });
      const { members } = await nextFrame(member, 'members', 'the members of the room (no presence frame before it)');
      expect(members).to.deep.equal([{ name: 'member' }]);
    });
  });

  describe('accepted', () => {
    it('chat.v1 is negotiated: ws.protocol is chat.v1', async () => {
      const client = await connect(chatUrl(chat.runtime, { room: uniqueRoom('v1') }), { protocols: [CHAT_V1] });
      try {
        expect(client.ws.protocol).to.equal(CHAT_V1);
      } finally {
        await client.close();
      }
    });

    it('chat.v1 is chosen among other offered subprotocols', async () => {
      const client = await connect(chatUrl(chat.runtime, { room: uniqueRoom('v1') }), { protocols: ['chat.v2', CHAT_V1] });
      try {
        expect(client.ws.protocol).to.equal(CHAT_V1);
      } finally {
        await client.close();
      }
    });

    it('without a subprotocol the connection is plain (no Sec-WebSocket-Protocol)', async () => {
      const client = await chat.join({ room: uniqueRoom('plain') });
      expect(client.ws.protocol).to.equal('');
    });

    it('a room of 64 characters and a name of 32 characters (after trimming, emoji count as one)', async () => {
      const room = `${uniqueRoom('long')}_-`.padEnd(64, 'Z');
      expect(room).to.have.length(64);
      const name = '🙂'.repeat(32);
      const listener = await chat.join({ room, name: 'listener', v1: true });
      const speaker = await chat.join({ room, name: `  ${name}  `, v1: true });
      const presence = await nextFrame(listener, 'presence', 'the join of the speaker');
      expect(presence).to.deep.equal({ type: 'presence', event: 'join', room, name });
      const sent = await say(speaker, 'hi');
      expectMessageFrame(sent, { room, name, text: 'hi' });
      expectMessageFrame(await nextFrame(listener, 'message', "the speaker's message"), { room, name, text: 'hi' });
    });

    it('no ?room= joins the lobby, and no ?name= gets a generated guest name', async () => {
      const lobby = await chat.join({ room: 'lobby', name: 'lobby-watcher', v1: true });
      const guest = await chat.join({});
      const presence = await nextFrame(lobby, 'presence', 'the join of the guest in the lobby');
      expect(presence).to.include({ event: 'join', room: 'lobby' });
      expect(presence.name).to.match(/^guest-[A-Za-z0-9]+$/);
      guest.send({ action: 'sendmessage', message: 'hello, lobby' });
      const message = await nextFrame(lobby, 'message', "the guest's message in the lobby");
      expectMessageFrame(message, { room: 'lobby', name: presence.name, text: 'hello, lobby' });
      expect(await guest.quietFor(200), 'a plain sender gets nothing back').to.deep.equal([]);
    });

    it('room names are case-sensitive: "X" and "x" are different rooms', async () => {
      const lower = uniqueRoom('case').toLowerCase();
      const upper = lower.toUpperCase();
      const inLower = await chat.join({ room: lower, name: 'lower', v1: true });
      const inUpper = await chat.join({ room: upper, name: 'upper', v1: true });
      await say(inUpper, 'upper only');
      inLower.send({ action: 'members' });
      expect((await nextFrame(inLower, 'members', "the lower room's members")).members).to.deep.equal([{ name: 'lower' }]);
      await expectSilence(inLower, 'the lower-case room');
    });

    it('a plain client in a named room chats as in the tutorial', async () => {
      const room = uniqueRoom('tutorial');
      const first = await chat.join({ room });
      const second = await chat.join({ room });
      first.send('{"action":"sendmessage","message":"hello, everyone!"}');
      expect(await nextText(second, "the tutorial's text frame")).to.equal('hello, everyone!');
      expect(await first.quietFor(200), 'the plain sender gets nothing back').to.deep.equal([]);
    });
  });
});
