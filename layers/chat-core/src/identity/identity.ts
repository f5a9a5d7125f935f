/**
 * Who is connecting, when the stack has an authorizer (template parameter AuthMode other
 * than none): how a client presents its token, what the authorizer (functions/authorizer)
 * takes from the token's claims, and how that identity travels as the authorizer's policy
 * context, which API Gateway hands to every later event of the connection as
 * `requestContext.authorizer`.
 *
 * Dependency-free on purpose (wire.ts aside): the layer builds it as an entry point of its own
 * (`chat-core/identity`), which the authorizer loads on every cold start instead of the
 * whole layer, whose SDK clients it never uses.
 */

import { DISPLAY_NAME_CLAIMS, TOKEN_QUERY_PARAMETER, TOKEN_SUBPROTOCOL_PREFIX } from '../wire/wire';

export { DISPLAY_NAME_CLAIMS, TOKEN_QUERY_PARAMETER, TOKEN_SUBPROTOCOL_PREFIX };

/** The identity a verified token gives a connection. */
export interface Identity {
  /** The token's subject (`sub`): stable, unique at the issuer. */
  userId: string;
  /** The display name the token gives (see DISPLAY_NAME_CLAIMS); the chat's name rules apply on $connect. */
  name: string;
  /** The rooms the token allows; empty: any room. */
  rooms: string[];
  /** In the moderators group (the token's groups claim holds the stack's ModeratorsGroup): may delete and ban in its rooms. */
  moderator: boolean;
}

/**
 * The authorizer's policy context. API Gateway takes only strings, numbers and booleans
 * there, so the rooms travel as a JSON array in a string.
 */
export interface IdentityContext {
  userId: string;
  name: string;
  rooms: string;
  /** "true" or "false" (API Gateway may hand booleans on as strings). */
  moderator: string;
}

/** Where a token says who moderates: its groups claim, and the group that moderates (ModeratorsGroup; empty: nobody by token). */
export interface ModeratorClaims {
  groupsClaim: string;
  moderatorsGroup: string;
}

/** A token that verified but cannot identify anyone in the chat (no subject, no name, odd rooms). */
export class IdentityClaimsError extends Error {
  override readonly name = 'IdentityClaimsError';
}

const nonEmptyString = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';

const stringList = (value: unknown): value is string[] => Array.isArray(value) && value.every((entry) => typeof entry === 'string');

/**
 * The identity in a verified token's claims; `roomsClaim` names the claim listing the allowed
 * rooms. The moderators group is no room: with Cognito, where groups are rooms, a token whose
 * only group is the moderators' may join any room.
 */
export function identityFromClaims(
  claims: Record<string, unknown>,
  roomsClaim: string,
  moderation: ModeratorClaims = { groupsClaim: roomsClaim, moderatorsGroup: '' },
): Identity {
  const { sub } = claims;
  if (!nonEmptyString(sub)) throw new IdentityClaimsError('the token has no subject (sub)');
  const nameClaim = DISPLAY_NAME_CLAIMS.find((claim) => nonEmptyString(claims[claim]));
  if (nameClaim === undefined) {
    throw new IdentityClaimsError(`the token has no display name (none of ${DISPLAY_NAME_CLAIMS.join(', ')})`);
  }
  const rooms = claims[roomsClaim] ?? [];
  if (!stringList(rooms)) throw new IdentityClaimsError(`the token's ${roomsClaim} claim is not a list of room names`);
  const groups = claims[moderation.groupsClaim] ?? [];
  const { moderatorsGroup } = moderation;
  const moderator = moderatorsGroup !== '' && stringList(groups) && groups.includes(moderatorsGroup);
  return {
    userId: sub,
    name: String(claims[nameClaim]),
    rooms: rooms.filter((room) => moderatorsGroup === '' || room !== moderatorsGroup),
    moderator,
  };
}

export function encodeIdentity(identity: Identity): IdentityContext {
  return { userId: identity.userId, name: identity.name, rooms: JSON.stringify(identity.rooms), moderator: String(identity.moderator) };
}

/**
 * The identity in an event's `requestContext.authorizer`, or undefined when the connection
 * had no authorizer (AuthMode none). An authorizer context without the identity is a
 * deployment fault, not a client's: it throws.
 */
export function decodeIdentity(authorizer: unknown): Identity | undefined {
  if (authorizer === undefined || authorizer === null) return undefined;
  const { userId, name, rooms, moderator } = authorizer as Partial<Record<keyof IdentityContext, unknown>>;
  let list: unknown;
  try {
    list = typeof rooms === 'string' ? JSON.parse(rooms) : undefined;
  } catch {
    list = undefined;
  }
  if (!nonEmptyString(userId) || typeof name !== 'string' || !Array.isArray(list) || !list.every((r) => typeof r === 'string')) {
    throw new Error('requestContext.authorizer does not hold the identity the authorizer passes (userId, name, rooms)');
  }
  // A connection made before moderators existed has no flag: no moderator.
  return { userId, name, rooms: list, moderator: moderator === true || moderator === 'true' };
}

/** Whether an identity may join a room: a token that lists no rooms may join any. */
export function mayJoin(identity: Identity, room: string): boolean {
  return identity.rooms.length === 0 || identity.rooms.includes(room);
}

/** The entries of a Sec-WebSocket-Protocol header, trimmed, empty ones dropped. */
export function offeredSubprotocols(header: string | undefined): string[] {
  return (header ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/** The token a $connect request presents: `?token=`, else a `token.<jwt>` subprotocol. */
export function presentedToken(
  query: Record<string, string | undefined> | null | undefined,
  protocolHeader: string | undefined,
): string | undefined {
  const fromQuery = query?.[TOKEN_QUERY_PARAMETER];
  if (fromQuery !== undefined && fromQuery !== '') return fromQuery;
  const entry = offeredSubprotocols(protocolHeader).find((p) => p.startsWith(TOKEN_SUBPROTOCOL_PREFIX));
  const token = entry?.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
  return token === '' ? undefined : token;
}
