/**
 * The chat's wire rules, defined once: the subprotocol, the room and name rules, the limits a
 * client may ask for, the frames the server sends (as types). No runtime dependency and no
 * Node.js type, so that the functions (through chat-core), the chat page (web/) and the browser
 * tests' fake server all import this one file.
 */

/** The WebSocket subprotocol of JSON frames (a connection without it gets the tutorial's plain text). */
export const CHAT_V1 = 'chat.v1';
/** The room of a connection that asks for none. */
export const DEFAULT_ROOM = 'lobby';
/** A room: 1-64 of A-Z, a-z, 0-9, `_` and `-`. */
export const ROOM_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** A display name, trimmed: 1-32 characters (code points), no control character. */
export const MAX_NAME_LENGTH = 32;
/** Most messages one `history` request may ask for. */
export const MAX_HISTORY_LIMIT = 100;

/** C0 and C1 control characters, DEL, and the bidirectional overrides that can disguise text: refused in names. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

/**
 * Message text with control characters other than tab and newline replaced by U+FFFD, as the
 * server stores it (so that one user's message cannot drive another's terminal, wscat prints
 * frames as they come, or hide itself behind bidirectional overrides); the page does the same,
 * so that its own echo matches.
 */
export function replaceTextControls(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/gu, '\ufffd');
}

// ------------------------------------------------------------------------ tokens

/** The query parameter that carries a token (wscat, scripts). */
export const TOKEN_QUERY_PARAMETER = 'token';
/**
 * Browsers cannot set headers on a WebSocket upgrade, and a query string ends up in logs:
 * they offer the token as an extra subprotocol, `token.<jwt>`, beside `chat.v1`. The
 * server never answers it back (it answers `chat.v1`).
 */
export const TOKEN_SUBPROTOCOL_PREFIX = 'token.';
/** The claims a display name is taken from, the first present and non-empty one winning. */
export const DISPLAY_NAME_CLAIMS = ['name', 'preferred_username', 'cognito:username', 'email'] as const;

// ------------------------------------------------------------------------ frames

export interface ChatMessage {
  id: string;
  room: string;
  name: string;
  text: string;
  /** ISO 8601. */
  sentAt: string;
  /** The sender's user id (its token's subject); only when the stack authenticates (AuthMode). */
  userId?: string;
  /**
   * The id of the message stored just before this one in its room; absent for a room's first
   * message. A client that does not hold it missed a message, and fetches `history` after the
   * newest id it holds (README, protocol).
   */
  prevId?: string;
  /** Published by a server through the backend API (a bot, a notice): never a person, whatever its name. */
  backend?: true;
  /** Deleted by a moderator: history keeps its place in the chain (id, prevId) but not its text (empty). */
  deleted?: true;
}

/** What a moderation action did (the `moderation` frame, and the backend API's answer). */
export type ModerationResult =
  | { op: 'check'; room: string; moderator: boolean }
  | { op: 'delete'; room: string; id: string }
  /** `until`: ISO 8601, or null for a ban without end; `closed`: the banned identity's connections closed in the room. */
  | { op: 'ban'; room: string; user: string; until: string | null; closed: number }
  | { op: 'unban'; room: string; user: string };

/** Who is in a room; `userId` only when the stack authenticates, so that two people with one name stay apart. */
export interface Member {
  name: string;
  userId?: string;
  /** In a `members` page: how many of this person's connections the page counts, when more than one. */
  connections?: number;
}

/** One join or leave, as a `presence` frame carries it. */
export interface PresenceChange {
  event: 'join' | 'leave';
  name: string;
  userId?: string;
}

export type Frame =
  /** `clientId`: only on a sender's own confirmation, when its sendmessage gave one. */
  | ({ type: 'message'; clientId?: string } & ChatMessage)
  | { type: 'history'; room: string; messages: ChatMessage[]; hasMore: boolean }
  /** A page of the room's members; with `hasMore`, `next` is the cursor for the following page. */
  | { type: 'members'; room: string; members: Member[]; hasMore: boolean; next?: string }
  /** One join or leave (the original shape), */
  | ({ type: 'presence'; room: string } & PresenceChange)
  /** or several coalesced, in order; `incomplete` when some were left out (ask `members`). */
  | { type: 'presence'; room: string; changes: PresenceChange[]; incomplete?: true }
  | { type: 'error'; code: string; message: string }
  /** A moderator or the stack's backend removed that message (its text is gone from history too). */
  | { type: 'deleted'; room: string; id: string }
  /** The answer to a moderator's `moderate` action. */
  | ({ type: 'moderation' } & ModerationResult)
  | ({ type: 'info'; message: string } & ConnectionInfo);

/** What the $default route reports, in the tutorial's field names and order. */
export interface ConnectionInfo {
  ConnectedAt?: Date | string;
  Identity: { SourceIp?: string; UserAgent: string | null };
  LastActiveAt?: Date | string;
  connectionID: string;
}
