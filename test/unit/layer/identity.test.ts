import { expect } from 'chai';
import {
  IdentityClaimsError,
  decodeIdentity,
  encodeIdentity,
  identityFromClaims,
  mayJoin,
  offeredSubprotocols,
  presentedToken,
} from 'chat-core/identity';
import { expectThrow } from '../helpers';

describe('layer: identity (chat-core/identity)', () => {
  describe('presentedToken', () => {
    it('takes ?token= first, then a token.<jwt> subprotocol entry', () => {
      // Assess
      expect(presentedToken({ token: 'from-query' }, 'chat.v1, token.from-header')).to.equal('from-query');
      expect(presentedToken({ room: 'a' }, 'chat.v1, token.eyJ.e30.sig')).to.equal('eyJ.e30.sig');
      expect(presentedToken(null, 'token.only')).to.equal('only');
    });

    it('finds none in an empty ?token=, an empty token. entry, or no header', () => {
      // Assess
      expect(presentedToken({ token: '' }, undefined)).to.equal(undefined);
      expect(presentedToken(undefined, 'chat.v1, token.')).to.equal(undefined);
      expect(presentedToken(undefined, undefined)).to.equal(undefined);
    });
  });

  it("offeredSubprotocols: the header's entries, trimmed, without empty ones", () => {
    // Assess
    expect(offeredSubprotocols(' chat.v1 ,, token.x ')).to.deep.equal(['chat.v1', 'token.x']);
    expect(offeredSubprotocols(undefined)).to.deep.equal([]);
  });

  describe('identityFromClaims', () => {
    it('takes the subject, the first non-empty display name claim, and the rooms claim', () => {
      // Assess
      expect(identityFromClaims({ sub: 's1', preferred_username: 'al', email: 'a@x', rooms: ['a'] }, 'rooms')).to.deep.equal({
        userId: 's1',
        name: 'al',
        rooms: ['a'],
        moderator: false,
      });
      expect(identityFromClaims({ sub: 's1', email: 'a@x' }, 'cognito:groups')).to.deep.equal({
        userId: 's1',
        name: 'a@x',
        rooms: [],
        moderator: false,
      });
    });

    it("makes a moderator of a token whose groups claim holds the moderators group, which is no room (Cognito's groups are rooms)", () => {
      // Prepare
      const cognito = { groupsClaim: 'cognito:groups', moderatorsGroup: 'moderators' };

      // Act
      const onlyModerator = identityFromClaims({ sub: 's1', name: 'm', 'cognito:groups': ['moderators'] }, 'cognito:groups', cognito);
      const alsoOps = identityFromClaims({ sub: 's1', name: 'm', 'cognito:groups': ['ops', 'moderators'] }, 'cognito:groups', cognito);
      const member = identityFromClaims({ sub: 's1', name: 'm', 'cognito:groups': ['ops'] }, 'cognito:groups', cognito);
      const oidc = identityFromClaims({ sub: 's1', name: 'm', groups: ['moderators'], rooms: ['moderators'] }, 'rooms', {
        groupsClaim: 'groups',
        moderatorsGroup: 'moderators',
      });
      const noGroupNamed = identityFromClaims({ sub: 's1', name: 'm', 'cognito:groups': ['moderators'] }, 'cognito:groups', {
        groupsClaim: 'cognito:groups',
        moderatorsGroup: '',
      });

      // Assess
      expect(onlyModerator).to.include({ moderator: true }).and.to.have.property('rooms').that.deep.equals([]);
      expect(alsoOps).to.include({ moderator: true }).and.to.have.property('rooms').that.deep.equals(['ops']);
      expect(member).to.include({ moderator: false });
      expect(oidc).to.include({ moderator: true });
      expect(noGroupNamed).to.include({ moderator: false }).and.to.have.property('rooms').that.deep.equals(['moderators']);
    });

    for (const [label, claims, message] of [
      ['no subject', { name: 'a' }, 'the token has no subject (sub)'],
      ['an empty subject', { sub: '', name: 'a' }, 'the token has no subject (sub)'],
      [
        'no display name',
        { sub: 's1', name: '', email: 42 },
        'the token has no display name (none of name, preferred_username, cognito:username, email)',
      ],
      ['rooms that are not a list', { sub: 's1', name: 'a', rooms: 'a,b' }, "the token's rooms claim is not a list of room names"],
      ['rooms that are not names', { sub: 's1', name: 'a', rooms: ['a', 1] }, "the token's rooms claim is not a list of room names"],
    ] as const) {
      it(`refuses a token with ${label}`, () => {
        // Act
        const error = expectThrow(() => identityFromClaims(claims, 'rooms'), IdentityClaimsError);

        // Assess
        expect(error.message).to.equal(message);
      });
    }
  });

  describe('encodeIdentity and decodeIdentity (the policy context)', () => {
    it('round-trips an identity through strings only', () => {
      // Prepare
      const identity = { userId: 'u1', name: 'Sam', rooms: ['a', 'b'], moderator: false };

      // Act
      const context = encodeIdentity(identity);

      // Assess
      expect(context).to.deep.equal({ userId: 'u1', name: 'Sam', rooms: '["a","b"]', moderator: 'false' });
      expect(decodeIdentity({ ...context, principalId: 'u1', integrationLatency: 3 })).to.deep.equal(identity);
    });

    it('reads a moderator flag as a string or a boolean; a context without one (an older connection) is no moderator', () => {
      // Assess
      expect(decodeIdentity({ userId: 'u', name: 'a', rooms: '[]', moderator: 'true' })?.moderator).to.equal(true);
      expect(decodeIdentity({ userId: 'u', name: 'a', rooms: '[]', moderator: true })?.moderator).to.equal(true);
      expect(decodeIdentity({ userId: 'u', name: 'a', rooms: '[]', moderator: 'false' })?.moderator).to.equal(false);
      expect(decodeIdentity({ userId: 'u', name: 'a', rooms: '[]' })?.moderator).to.equal(false);
    });

    it('finds no identity without an authorizer (AuthMode none)', () => {
      // Assess
      expect(decodeIdentity(undefined)).to.equal(undefined);
      expect(decodeIdentity(null)).to.equal(undefined);
    });

    for (const [label, authorizer] of [
      ['no user id', { name: 'a', rooms: '[]' }],
      ['rooms that are not JSON', { userId: 'u', name: 'a', rooms: 'a,b' }],
      ['rooms that are not a list of strings', { userId: 'u', name: 'a', rooms: '[1]' }],
    ] as const) {
      it(`throws on an authorizer context with ${label}`, () => {
        // Act
        const error = expectThrow(() => decodeIdentity(authorizer));

        // Assess
        expect(error.message).to.equal('requestContext.authorizer does not hold the identity the authorizer passes (userId, name, rooms)');
      });
    }
  });

  it('mayJoin: the rooms a token lists, or any room when it lists none', () => {
    // Assess
    expect(mayJoin({ userId: 'u', name: 'a', rooms: [], moderator: false }, 'anything')).to.equal(true);
    expect(mayJoin({ userId: 'u', name: 'a', rooms: ['ops'], moderator: false }, 'ops')).to.equal(true);
    expect(mayJoin({ userId: 'u', name: 'a', rooms: ['ops'], moderator: false }, 'lobby')).to.equal(false);
  });
});
