import { expect } from 'chai';
import { ChatError, nameFromToken, parseName, parseRoom } from 'chat-core';
import { DEFAULT_ROOM } from '../../../layers/chat-core/src/wire/wire';
import { defaultName, neutralizeControls } from '../../../layers/chat-core/src/identity/names';
import { CALLER_ID, expectThrow } from '../helpers';

/** A generated default name. */
const GUEST = /^guest-[a-z0-9]{6}$/;

describe('layer: names', () => {
  describe('parseRoom', () => {
    it('defaults to lobby when no room is asked for', () => {
      // Assess
      expect(DEFAULT_ROOM).to.equal('lobby');
      expect(parseRoom(undefined)).to.equal('lobby');
    });

    it('accepts 1 to 64 of A-Z a-z 0-9 _ -', () => {
      // Assess
      expect(parseRoom('a')).to.equal('a');
      expect(parseRoom('Team_42-dev')).to.equal('Team_42-dev');
      expect(parseRoom('x'.repeat(64))).to.equal('x'.repeat(64));
    });

    for (const [label, room] of [
      ['empty', ''],
      ['65 characters', 'x'.repeat(65)],
      ['a space', 'my room'],
      ['a slash', 'a/b'],
      ['a dot', 'a.b'],
      ['non-ASCII letters', 'café'],
      ['a trailing newline', 'lobby\n'],
    ] as const) {
      it(`refuses a room with ${label} (invalid_room)`, () => {
        // Act
        const error = expectThrow(() => parseRoom(room), ChatError);

        // Assess
        expect(error.code).to.equal('invalid_room');
        expect(error.message).to.equal('room must be 1-64 characters of A-Z, a-z, 0-9, _ or -');
      });
    }
  });

  describe('parseName', () => {
    describe('nameFromToken (AuthMode cognito or oidc)', () => {
      it('keeps a name that fits the rules, trimmed', () => {
        // Assess
        expect(nameFromToken('  Alice Liddell ')).to.equal('Alice Liddell');
      });

      it('drops control characters and bidi overrides instead of refusing the name', () => {
        // Assess
        expect(nameFromToken('\u202eeve\u001b[2J')).to.equal('eve[2J');
      });

      it('cuts a long name (an e-mail address, say) to its first 32 characters', () => {
        // Prepare
        const email = 'someone.with.a.long.name@example.com';

        // Assess
        expect(nameFromToken(email)).to.equal(email.slice(0, 32));
        expect([...nameFromToken('😀'.repeat(40))]).to.have.length(32);
      });
    });

    it('generates a default name when none is given', () => {
      // Assess
      expect(parseName(undefined)).to.match(GUEST);
    });

    it('trims the name', () => {
      // Assess
      expect(parseName('  alice \t')).to.equal('alice');
    });

    it('counts characters, not UTF-16 units: 32 emoji are fine', () => {
      // Prepare
      const name = '😀'.repeat(32);

      // Assess
      expect(name.length).to.equal(64);
      expect(parseName(name)).to.equal(name);
    });

    it('refuses 33 characters', () => {
      // Act
      const error = expectThrow(() => parseName('a'.repeat(33)), ChatError);

      // Assess
      expect(error.code).to.equal('invalid_name');
      expect(error.message).to.equal('name must be 1-32 characters after trimming');
    });

    it('refuses a name that is empty after trimming', () => {
      // Act
      const error = expectThrow(() => parseName('   '), ChatError);

      // Assess
      expect(error.code).to.equal('invalid_name');
      expect(error.message).to.equal('name must be 1-32 characters after trimming');
    });

    for (const [label, name] of [
      ['an escape (terminal control)', 'bob\u001b[2J'],
      ['a NUL', 'bo\u0000b'],
      ['DEL', 'bob\u007f'],
      ['a C1 control', 'bob\u009b'],
      ['a right-to-left override', 'bob\u202egpj.exe'],
      ['a bidi isolate', '\u2066bob'],
      ['an inner newline', 'bo\nb'],
    ] as const) {
      it(`refuses a name with ${label}`, () => {
        // Act
        const error = expectThrow(() => parseName(name), ChatError);

        // Assess
        expect(error.code).to.equal('invalid_name');
        expect(error.message).to.equal('name must not contain control characters');
      });
    }
  });

  describe('defaultName', () => {
    it('is what nameFromToken gives for a name of nothing but controls and spaces', () => {
      // Assess
      expect(nameFromToken(' \u0007\u202e ')).to.match(GUEST);
    });

    it('is guest- and 6 random letters or digits: nothing of the connection id, and different every time', () => {
      // Act
      const names = Array.from({ length: 200 }, () => defaultName());

      // Assess
      for (const name of names) expect(name).to.match(GUEST).and.not.include(CALLER_ID.slice(0, 6));
      expect(new Set(names).size, 'distinct names out of 200').to.be.above(195);
    });

    it("is a valid name by the chat's own rules", () => {
      // Assess
      const name = defaultName();
      expect(parseName(name)).to.equal(name);
    });
  });

  describe('neutralizeControls', () => {
    it('keeps tab and newline and ordinary text, including non-ASCII', () => {
      // Prepare
      const text = 'line 1\n\tline 2: héllo, 世界 😀';

      // Assess
      expect(neutralizeControls(text)).to.equal(text);
    });

    it('replaces every other control character and bidi override with U+FFFD', () => {
      // Prepare
      const text = 'a\u0000b\u001b[31mc\rd\u007fe\u0085f\u202eg\u2069h';

      // Act
      const neutralized = neutralizeControls(text);

      // Assess
      expect(neutralized).to.equal('a\ufffdb\ufffd[31mc\ufffdd\ufffde\ufffdf\ufffdg\ufffdh');
    });
  });
});
