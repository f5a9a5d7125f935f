/**
 * Errors and limits (README "Using the chat", error codes): each refused request is
 * answered to its sender only (an `error` frame with a stable code, or `Error: …` text in
 * plain mode), the others in the room see nothing, and the conversation goes on. Real
 * handlers (template.yaml) behind the local runtime.
 */
import { expect } from 'chai';
import { ChatRuntime, expectError, expectMessageFrame, expectSilence, nextFrame, nextText, say, uniqueRoom } from './chat-helpers';
import type { Client } from './helpers';

const TUTORIAL_INFO = /^Use the sendmessage route to send a message\. Your info: \{.*"connectionID":"[^"]+"\}$/;

const utf8 = (text: string): number => Buffer.byteLength(text, 'utf8');

describe('chat: errors and limits (template.yaml, real handlers)', () => {
  const chat = new ChatRuntime();
  before(() => chat.start());
  afterEach(() => chat.closeClients());
  after(() => chat.stop());

  /** A room with a sender and a bystander of each kind. */
  let room: string;
  let v1Sender: Client;
  let plainSender: Client;
  let v1Bystander: Client;
  let plainBystander: Client;

  beforeEach(async () => {
    room = uniqueRoom('errors');
    plainBystander = await chat.join({ room, name: 'plain-bystander' });
    plainSender = await chat.join({ room, name: 'plain-sender' });
    v1Bystander = await chat.join({ room, name: 'v1-bystander', v1: true });
    v1Sender = await chat.join({ room, name: 'v1-sender', v1: true });
    expect(await nextFrame(v1Bystander, 'presence', 'the join of the chat.v1 sender')).to.include({ name: 'v1-sender' });
  });

  /**
   * After a refused request: the conversation goes on, and the first thing each bystander
   * receives is the next valid message (so the error reached none of them).
   */
  async function conversationGoesOn(sender: Client, senderIsV1: boolean, text = `still here ${Date.now()}`): Promise<void> {
    sender.send({ action: 'sendmessage', message: text });
    if (senderIsV1) expect((await nextFrame(sender, 'message', "the sender's confirmation after its error")).text).to.equal(text);
    expect((await nextFrame(v1Bystander, 'message', 'the next message at the chat.v1 bystander (nothing before it)')).text).to.equal(text);
    expect(await nextText(plainBystander, 'the next message at the plain bystander (nothing before it)')).to.equal(text);
    if (!senderIsV1) expect((await nextFrame(v1Sender, 'message', 'the message at the idle chat.v1 client')).text).to.equal(text);
    else expect(await nextText(plainSender, 'the message at the idle plain client')).to.equal(text);
  }

  describe('message length (MaxMessageBytes, default 4096 UTF-8 bytes)', () => {
    const boundary: [string, string][] = [
      ['ASCII', 'a'.repeat(4096)],
      ['a 3-byte character at the end', `${'a'.repeat(4093)}€`],
      ['a 4-byte emoji at the end', `${'a'.repeat(4092)}😀`],
      ['2-byte characters only (2048 characters)', 'é'.repeat(2048)],
    ];
    for (const [label, text] of boundary) {
      it(`4096 bytes with ${label}: delivered whole`, async () => {
        expect(utf8(text)).to.equal(4096);
        const confirmation = await say(v1Sender, text);
        expectMessageFrame(confirmation, { room, name: 'v1-sender', text });
        expect(await nextFrame(v1Bystander, 'message')).to.deep.equal(confirmation);
        expect(await nextText(plainBystander, 'the 4096-byte message')).to.equal(text);
      });
    }

    const over: [string, string][] = [
      ['ASCII', 'a'.repeat(4097)],
      ['a 3-byte character across the boundary (4095 characters)', `${'a'.repeat(4094)}€`],
      ['a 4-byte emoji across the boundary (4094 UTF-16 units)', `${'a'.repeat(4093)}😀`],
      ['2-byte characters only (2049 characters)', 'é'.repeat(2049)],
    ];
    for (const [label, text] of over) {
      it(`4097+ bytes with ${label}: message_too_long to the sender only`, async () => {
        expect(utf8(text)).to.be.within(4097, 4099);
        const error = await expectError(v1Sender, { action: 'sendmessage', message: text }, 'message_too_long');
        expect(error.message).to.include('4096');
        await conversationGoesOn(v1Sender, true);
      });
    }

    it('a plain sender over the limit gets "Error: …" text, nobody else anything', async () => {
      plainSender.send({ action: 'sendmessage', message: `${'a'.repeat(4094)}€` });
      expect(await nextText(plainSender, 'the error as text')).to.match(/^Error: .*4096/);
      await conversationGoesOn(plainSender, false);
    });

    it('the refused message is not stored', async () => {
      await expectError(v1Sender, { action: 'sendmessage', message: 'x'.repeat(5000) }, 'message_too_long');
      v1Sender.send({ action: 'history', limit: 10 });
      expect((await nextFrame(v1Sender, 'history', "the room's history")).messages).to.deep.equal([]);
    });
  });

  describe('wrong types and malformed frames', () => {
    const wrongTypes: [string, Record<string, unknown>][] = [
      ['message: 5', { action: 'sendmessage', message: 5 }],
      ['message missing', { action: 'sendmessage' }],
      ['message: null', { action: 'sendmessage', message: null }],
      ['message: ["hi"]', { action: 'sendmessage', message: ['hi'] }],
      ['message: {}', { action: 'sendmessage', message: {} }],
      ['message: true', { action: 'sendmessage', message: true }],
    ];
    for (const [label, frame] of wrongTypes) {
      it(`sendmessage with ${label}: invalid_request to the sender only`, async () => {
        await expectError(v1Sender, frame, 'invalid_request');
        await conversationGoesOn(v1Sender, true);
      });
    }

    it('a plain sender gets "Error: …" text for a wrong type', async () => {
      plainSender.send({ action: 'sendmessage', message: 5 });
      expect(await nextText(plainSender, 'the error as text')).to.match(/^Error: \S/);
      await conversationGoesOn(plainSender, false);
    });

    for (const malformed of ['{"action":"sendmessage","message":"unclosed', 'not json at all', '{action: sendmessage}']) {
      it(`malformed JSON ${JSON.stringify(malformed)}: invalid_json on chat.v1, the tutorial's text in plain mode`, async () => {
        await expectError(v1Sender, malformed, 'invalid_json');
        plainSender.send(malformed);
        expect(await nextText(plainSender, 'the $default answer')).to.match(TUTORIAL_INFO);
        await conversationGoesOn(v1Sender, true);
      });
    }

    it('JSON that is not an object (an array) on chat.v1: invalid_request', async () => {
      await expectError(v1Sender, '["sendmessage","hi"]', 'invalid_request');
      await conversationGoesOn(v1Sender, true);
    });

    it("an unknown action: unknown_action on chat.v1, the tutorial's text in plain mode", async () => {
      const error = await expectError(v1Sender, { action: 'shout', message: 'hi' }, 'unknown_action');
      expect(error.message).to.include('shout');
      plainSender.send({ action: 'shout', message: 'hi' });
      expect(await nextText(plainSender, 'the $default answer')).to.match(TUTORIAL_INFO);
      await conversationGoesOn(plainSender, false);
    });

    it('JSON without an action on chat.v1: the $default answer as an info frame', async () => {
      v1Sender.send({ hello: 'there' });
      const info = await nextFrame(v1Sender, 'info', 'the $default info frame');
      expect(info.message).to.equal('Use the sendmessage route to send a message.');
      expect(info).to.include.keys('ConnectedAt', 'Identity', 'LastActiveAt', 'connectionID');
      await conversationGoesOn(v1Sender, true);
    });
  });
});

describe('chat: the message rate limit (MessageRateLimit=3, real handlers)', () => {
  const LIMIT = 3;
  const INTERVAL_MS = Math.floor(10_000 / LIMIT);
  const chat = new ChatRuntime();
  before(() => chat.start({ envVars: { SendMessageFunction: { MESSAGE_RATE_LIMIT: String(LIMIT) } } }));
  afterEach(() => chat.closeClients());
  after(() => chat.stop());

  /**
   * Runs a short burst that must end within one token interval (10 s / LIMIT): the limit is
   * a token bucket that gives one message back per interval, so a slower burst could
   * legitimately pass. A burst that still takes longer (a very slow machine) fails saying so.
   */
  async function withinOneInterval(burst: () => Promise<void>): Promise<void> {
    const started = Date.now();
    try {
      await burst();
    } catch (error: unknown) {
      const took = Date.now() - started;
      if (took >= INTERVAL_MS)
        throw new Error(`the burst took ${took} ms, past a token interval of ${INTERVAL_MS} ms: ${(error as Error).message}`, {
          cause: error,
        });
      throw error;
    }
  }

  // Messages go one at a time: each waits for the previous one's confirmation.
  it(`more than ${LIMIT} messages in 10 s: rate_limited to that sender only; others unaffected`, async function () {
    this.timeout(30_000);
    const room = uniqueRoom('rate');
    const plainBystander = await chat.join({ room, name: 'plain-bystander' });
    const bystander = await chat.join({ room, name: 'bystander', v1: true });
    const other = await chat.join({ room, name: 'other', v1: true });
    const flooder = await chat.join({ room, name: 'flooder', v1: true });
    await nextFrame(bystander, 'presence', 'the join of other');
    await nextFrame(bystander, 'presence', 'the join of flooder');
    await nextFrame(other, 'presence', 'the join of flooder');

    const accepted: string[] = [];
    await withinOneInterval(async () => {
      for (let i = 1; i <= LIMIT; i += 1) accepted.push((await say(flooder, `flood ${i}`)).id);
      const refused = await expectError(flooder, { action: 'sendmessage', message: `flood ${LIMIT + 1}` }, 'rate_limited');
      expect(refused.message).to.include(String(LIMIT));
      await expectError(flooder, { action: 'sendmessage', message: `flood ${LIMIT + 2}` }, 'rate_limited');
    });

    const seen: string[] = [];
    for (let i = 1; i <= LIMIT; i += 1) seen.push((await nextFrame(bystander, 'message', `accepted message ${i}`)).id);
    expect(seen).to.deep.equal(accepted);
    for (let i = 1; i <= LIMIT; i += 1) expect(await nextText(plainBystander, `accepted message ${i} as text`)).to.equal(`flood ${i}`);
    for (let i = 1; i <= LIMIT; i += 1)
      expect((await nextFrame(other, 'message', `accepted message ${i} at other`)).id).to.equal(accepted[i - 1]);

    // Others are not limited by the flooder, and the flooder still receives the room.
    const fromOther = await say(other, 'I can still talk');
    expect(await nextFrame(bystander, 'message', "the other's message (no error before it)")).to.deep.equal(fromOther);
    expect(await nextText(plainBystander, "the other's message as text (no error before it)")).to.equal('I can still talk');
    expect(await nextFrame(flooder, 'message', "the other's message at the limited sender")).to.deep.equal(fromOther);
    await expectSilence(bystander, 'the bystander, after the accepted messages');

    flooder.send({ action: 'history', limit: 10 });
    const { messages } = await nextFrame(flooder, 'history', 'history (not rate limited)');
    expect(
      messages.map((m) => m.text),
      'refused messages are not stored',
    ).to.deep.equal([...accepted.map((_, i) => `flood ${i + 1}`), 'I can still talk']);
  });

  it('a plain sender over the limit gets "Error: …" text', async function () {
    this.timeout(30_000);
    const room = uniqueRoom('rate-plain');
    const flooder = await chat.join({ room, name: 'plain-flooder' });
    const listener = await chat.join({ room, name: 'listener', v1: true });
    await withinOneInterval(async () => {
      for (let i = 1; i <= LIMIT; i += 1) {
        flooder.send({ action: 'sendmessage', message: `plain flood ${i}` });
        expect((await nextFrame(listener, 'message', `plain flood ${i}`)).text).to.equal(`plain flood ${i}`);
      }
      flooder.send({ action: 'sendmessage', message: 'one too many' });
      expect(await nextText(flooder, 'the rate limit error as text')).to.match(/^Error: .*3/);
    });
    await expectSilence(listener, 'the listener (the refused message never came)');
  });
});
