/**
 * The chat.v1 frames the server sends, as types only: no runtime code and no Node.js
 * types, so that the chat page (web/) shares them with the functions.
 */

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
}

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
  | ({ type: 'info'; message: string } & ConnectionInfo);

/** What the $default route reports, in the tutorial's field names and order. */
export interface ConnectionInfo {
  ConnectedAt?: Date | string;
  Identity: { SourceIp?: string; UserAgent: string | null };
  LastActiveAt?: Date | string;
  connectionID: string;
}
