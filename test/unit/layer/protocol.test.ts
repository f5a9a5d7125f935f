import { expect } from 'chai';
import {
  ChatError,
  type ChatMessage,
  type Frame,
  USAGE,
  encodeFrame,
  negotiateProtocol,
  parseBody,
  parseHistory,
  parseMembers,
  parseSendMessage,
} from 'chat-core';
import { CHAT_V1, MAX_HISTORY_LIMIT, encodeMembersCursor, errorFrame } from '../../../layers/chat-core/src/wire/protocol';
import { expectThrow } from '../helpers';

const MESSAGE: ChatMessage = {
  id: '01HQ3Z9V5X8G2M4N6P7R8S9T0V',
  room: 'lobby',
  name: 'alice',
  text: 'hello, everyone!',
  sentAt: '2022-01-25T18:50:07.642Z',
};

const ID_A = '01HQ3Z9V5X8G2M4N6P7R8S9T0V';
const ID_B = '01HQ3Z9V5X8G2M4N6P7R8S9T0W';

function chatError(fn: () => unknown): ChatError {
  return expectThrow(fn, ChatError);
}

describe('layer: protocol', () => {
  describe('negotiateProtocol', () => {
    it('is plain when no subprotocol is asked for', () => {
      // Assess
      expect(negotiateProtocol(undefined)).to.equal('plain');
      expect(negotiateProtocol('')).to.equal('plain');
      expect(negotiateProtocol('   ')).to.equal('plain');
    });

    it('chooses chat.v1 when it is among those offered', () => {
      // Assess
      expect(CHAT_V1).to.equal('chat.v1');
      expect(negotiateProtocol('chat.v1')).to.equal('chat.v1');
      expect(negotiateProtocol('chat.v2, chat.v1')).to.equal('chat.v1');
      expect(negotiateProtocol(' chat.v1 ,foo')).to.equal('chat.v1');
    });

    it('refuses a client that offers only other subprotocols', () => {
      // Act
      const error = chatError(() => negotiateProtocol('mqtt, chat.v2'));

      // Assess
      expect(error.code).to.equal('unsupported_subprotocol');
      expect(error.message).to.equal('unsupported subprotocol; this API speaks chat.v1');
    });

    it('does not take a prefix or different case for chat.v1', () => {
      // Assess
      expect(chatError(() => negotiateProtocol('chat.v10')).code).to.equal('unsupported_subprotocol');
      expect(chatError(() => negotiateProtocol('CHAT.V1')).code).to.equal('unsupported_subprotocol');
    });
  });

  describe('encodeFrame', () => {
    it('sends chat.v1 every frame as JSON with its type', () => {
      // Prepare
      const frame: Frame = { type: 'message', ...MESSAGE };

      // Act
      const encoded = encodeFrame(frame, 'chat.v1');

      // Assess
      expect(JSON.parse(encoded ?? '')).to.deep.equal({ type: 'message', ...MESSAGE });
    });

    it('sends plain a message as its raw text (the tutorial)', () => {
      // Assess
      expect(encodeFrame({ type: 'message', ...MESSAGE }, 'plain')).to.equal('hello, everyone!');
    });

    it('sends plain no presence frames at all', () => {
      // Prepare
      const frame: Frame = { type: 'presence', event: 'join', room: 'lobby', name: 'alice' };

      // Assess
      expect(encodeFrame(frame, 'plain')).to.equal(undefined);
      expect(JSON.parse(encodeFrame(frame, 'chat.v1') ?? '')).to.deep.equal(frame);
    });

    it('sends plain an error as text starting with "Error: "', () => {
      // Prepare
      const frame = errorFrame(new ChatError('rate_limited', 'slow down'));

      // Assess
      expect(frame).to.deep.equal({ type: 'error', code: 'rate_limited', message: 'slow down' });
      expect(encodeFrame(frame, 'plain')).to.equal('Error: slow down');
    });

    it("sends plain the tutorial's info text, in its field order", () => {
      // Prepare
      const frame: Frame = {
        type: 'info',
        message: USAGE,
        ConnectedAt: new Date('2022-01-25T18:50:04.673Z'),
        Identity: { SourceIp: '192.0.2.1', UserAgent: null },
        LastActiveAt: new Date('2022-01-25T18:50:07.642Z'),
        connectionID: 'Mg_ugfpqPHcCIVA=',
      };

      // Assess
      expect(encodeFrame(frame, 'plain')).to.equal(
        'Use the sendmessage route to send a message. Your info: {"ConnectedAt":"2022-01-25T18:50:04.673Z","Identity":{"SourceIp":"192.0.2.1","UserAgent":null},"LastActiveAt":"2022-01-25T18:50:07.642Z","connectionID":"Mg_ugfpqPHcCIVA="}',
      );
    });

    it('sends plain history as one line per message, or a note when there is none', () => {
      // Prepare
      const second = { ...MESSAGE, id: ID_B, name: 'bob', text: 'hi alice', sentAt: '2022-01-25T18:51:00.000Z' };

      // Assess
      expect(encodeFrame({ type: 'history', room: 'lobby', messages: [MESSAGE, second], hasMore: false }, 'plain')).to.equal(
        '[2022-01-25T18:50:07.642Z] alice: hello, everyone!\n[2022-01-25T18:51:00.000Z] bob: hi alice',
      );
      expect(encodeFrame({ type: 'history', room: 'dev', messages: [], hasMore: false }, 'plain')).to.equal('No messages in dev.');
    });

    it('sends plain the members as one line', () => {
      // Assess
      expect(
        encodeFrame({ type: 'members', room: 'lobby', members: [{ name: 'alice' }, { name: 'bob' }], hasMore: false }, 'plain'),
      ).to.equal('In lobby: alice, bob');
    });

    it('tells plain how to ask for the next page of members', () => {
      // Prepare
      const frame: Frame = {
        type: 'members',
        room: 'lobby',
        members: [{ name: 'alice' }],
        hasMore: true,
        next: encodeMembersCursor('Mg_ugfpqPHcCIVA='),
      };

      // Assess
      expect(encodeFrame(frame, 'plain')).to.equal('In lobby: alice (more: {"action":"members","after":"TWdfdWdmcHFQSGNDSVZBPQ"})');
    });
  });

  describe('parseBody', () => {
    it('returns a JSON object', () => {
      // Assess
      expect(parseBody('{"action":"x","n":1}')).to.deep.equal({ action: 'x', n: 1 });
    });

    for (const body of ['test', '{"action":', '', null, undefined]) {
      it(`refuses ${JSON.stringify(body)} as invalid_json`, () => {
        // Act
        const error = chatError(() => parseBody(body));

        // Assess
        expect(error.code).to.equal('invalid_json');
        expect(error.message).to.equal('the frame is not valid JSON');
      });
    }

    for (const body of ['[1,2]', '"text"', '42', 'null', 'true']) {
      it(`refuses ${body} as invalid_request (not an object)`, () => {
        // Act
        const error = chatError(() => parseBody(body));

        // Assess
        expect(error.code).to.equal('invalid_request');
        expect(error.message).to.equal('the frame must be a JSON object');
      });
    }
  });

  describe('parseSendMessage', () => {
    it('measures the text after neutralizing: 4,096 control characters (12,288 bytes as U+FFFD) are too long', () => {
      // Prepare
      const body = JSON.stringify({ action: 'sendmessage', message: '\u0001'.repeat(4096) });

      // Act
      const error = expectThrow(() => parseSendMessage(body, 4096));

      // Assess
      expect((error as { code?: string }).code).to.equal('message_too_long');
      expect(error.message).to.equal('message is 12288 bytes; the limit is 4096 UTF-8 bytes');
    });

    it('replaces a lone surrogate with U+FFFD (what is stored is valid UTF-8)', () => {
      // Assess
      expect(parseSendMessage('{"action":"sendmessage","message":"a\\ud800b"}', 4096).text).to.equal('a\ufffdb');
    });

    it('returns the message text', () => {
      // Assess
      expect(parseSendMessage('{"action":"sendmessage","message":"hello, everyone!"}', 4096).text).to.equal('hello, everyone!');
    });

    it('neutralizes control characters in the text', () => {
      // Prepare
      const body = JSON.stringify({ action: 'sendmessage', message: 'a\u001b[2Jb\nc' });

      // Assess
      expect(parseSendMessage(body, 4096).text).to.equal('a\ufffd[2Jb\nc');
    });

    it('accepts exactly the limit in UTF-8 bytes of multibyte text', () => {
      // Prepare: 1024 four-byte characters = 4096 bytes (2048 UTF-16 units)
      const text = '😀'.repeat(1024);

      // Assess
      expect(parseSendMessage(JSON.stringify({ action: 'sendmessage', message: text }), 4096).text).to.equal(text);
    });

    it('refuses one byte over the limit (message_too_long)', () => {
      // Prepare
      const text = `${'😀'.repeat(1024)}a`;

      // Act
      const error = chatError(() => parseSendMessage(JSON.stringify({ action: 'sendmessage', message: text }), 4096));

      // Assess
      expect(error.code).to.equal('message_too_long');
      expect(error.message).to.equal('message is 4097 bytes; the limit is 4096 UTF-8 bytes');
    });

    it('counts bytes, not characters: 4096 characters with one € are too long', () => {
      // Prepare: 4095 ASCII + one 3-byte € = 4096 UTF-16 units, 4098 bytes
      const text = `${'a'.repeat(4095)}€`;

      // Act
      const error = chatError(() => parseSendMessage(JSON.stringify({ action: 'sendmessage', message: text }), 4096));

      // Assess
      expect(text.length).to.equal(4096);
      expect(error.code).to.equal('message_too_long');
      expect(error.message).to.equal('message is 4098 bytes; the limit is 4096 UTF-8 bytes');
    });

    it('refuses a missing, empty or non-string message (invalid_request)', () => {
      // Act
      const missing = chatError(() => parseSendMessage('{"action":"sendmessage"}', 4096));
      const empty = chatError(() => parseSendMessage('{"action":"sendmessage","message":""}', 4096));
      const number = chatError(() => parseSendMessage('{"action":"sendmessage","message":42}', 4096));

      // Assess
      expect(missing.code).to.equal('invalid_request');
      expect(missing.message).to.equal('message: message must be a string');
      expect(empty.code).to.equal('invalid_request');
      expect(empty.message).to.equal('message: message must not be empty');
      expect(number.code).to.equal('invalid_request');
      expect(number.message).to.equal('message: message must be a string');
    });

    it('refuses malformed JSON (invalid_json)', () => {
      // Assess
      expect(chatError(() => parseSendMessage('{"action":"sendmessage","message":', 4096)).code).to.equal('invalid_json');
    });
  });

  describe('parseHistory', () => {
    it('defaults to the latest 50', () => {
      // Assess
      expect(parseHistory('{"action":"history"}')).to.deep.equal({ limit: 50 });
    });

    it('takes a limit from 1 to 100 and one cursor', () => {
      // Assess
      expect(MAX_HISTORY_LIMIT).to.equal(100);
      expect(parseHistory('{"action":"history","limit":1}')).to.deep.equal({ limit: 1 });
      expect(parseHistory(`{"action":"history","limit":100,"before":"${ID_A}"}`)).to.deep.equal({ limit: 100, before: ID_A });
      expect(parseHistory(`{"action":"history","after":"${ID_A}"}`)).to.deep.equal({ limit: 50, after: ID_A });
    });

    for (const limit of [0, 101, 2.5, '10', -1]) {
      it(`refuses limit ${JSON.stringify(limit)} (invalid_request)`, () => {
        // Act
        const error = chatError(() => parseHistory(JSON.stringify({ action: 'history', limit })));

        // Assess
        expect(error.code).to.equal('invalid_request');
        expect(error.message).to.match(/^limit: /);
      });
    }

    it('refuses both cursors at once', () => {
      // Act
      const error = chatError(() => parseHistory(JSON.stringify({ action: 'history', before: ID_B, after: ID_A })));

      // Assess
      expect(error.code).to.equal('invalid_request');
      expect(error.message).to.equal('give before or after, not both');
    });

    it('refuses a cursor that is not a message id', () => {
      // Act
      const lower = chatError(() => parseHistory(JSON.stringify({ action: 'history', after: ID_A.toLowerCase() })));
      const short = chatError(() => parseHistory(JSON.stringify({ action: 'history', before: 'abc' })));

      // Assess
      expect(lower.code).to.equal('invalid_request');
      expect(lower.message).to.equal('after: must be a message id');
      expect(short.message).to.equal('before: must be a message id');
    });
  });

  describe('parseMembers', () => {
    it('accepts {"action":"members"}', () => {
      // Act
      const parsed = parseMembers('{"action":"members"}');

      // Assess
      expect(parsed).to.deep.equal({});
    });

    it('reads the cursor of a following page back into the connection id it stands for', () => {
      // Prepare
      const cursor = encodeMembersCursor('Mg_ugfpqPHcCIVA=');

      // Act
      const parsed = parseMembers(JSON.stringify({ action: 'members', after: cursor }));

      // Assess
      expect(parsed).to.deep.equal({ after: 'Mg_ugfpqPHcCIVA=' });
    });

    for (const [what, after] of [
      ['a number', 42],
      ['an empty string', ''],
      ['characters outside base64url', 'abc+/='],
      ['a non-canonical encoding', 'TWdfdWdmcHFQSGNDSVZBPR'],
      ['the encoding of a control character', Buffer.from('a\nb').toString('base64url')],
      ['an over-long cursor', 'A'.repeat(300)],
    ] as const) {
      it(`refuses as a cursor ${what}, with a clear error`, () => {
        // Act
        const error = chatError(() => parseMembers(JSON.stringify({ action: 'members', after })));

        // Assess
        expect(error.code).to.equal('invalid_request');
        expect(error.message).to.equal('after: must be the next cursor of a members answer');
      });
    }

    it('refuses a frame that is not a members request', () => {
      // Act
      const error = chatError(() => parseMembers('{"action":"history"}'));

      // Assess
      expect(error.code).to.equal('invalid_request');
      expect(error.message).to.match(/^action: /);
    });
  });
});
