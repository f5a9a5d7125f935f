/**
 * The chat.v1 wire protocol as the page sees it: frame types, defensive parsing of
 * what the server sends, the requests the page makes, and the connect-time rules for
 * room and name (the same rules the server enforces with a 400).
 */

import {
  CONTROL_CHARACTERS,
  DEFAULT_ROOM,
  MAX_HISTORY_LIMIT,
  MAX_NAME_LENGTH,
  ROOM_PATTERN,
  CHAT_V1,
  replaceTextControls,
  type ChatMessage,
  type Frame,
  type Member,
  type ModerationResult,
  type PresenceChange,
} from 'chat-core/wire';

export { DEFAULT_ROOM, MAX_HISTORY_LIMIT, CHAT_V1 };
/** The template's MaxMessageBytes default, until the page is told the stack's own. */
export const DEFAULT_MAX_MESSAGE_BYTES = 4096;

export type { ChatMessage, Member, ModerationResult, PresenceChange };

/** The server's frames (chat-core's own types); `info` is kept loose, the page only shows it. */
export type ServerFrame = Exclude<Frame, { type: 'info' }> | { type: 'info'; [key: string]: unknown };

export type ClientRequest =
  | { action: 'sendmessage'; message: string; clientId: string }
  | { action: 'history'; limit: number; after?: string; before?: string }
  | { action: 'members'; after?: string }
  | ({ action: 'moderate' } & ModerateRequest);

/** What a moderator asks for (the `moderate` action); `check` asks whether this connection may moderate. */
export type ModerateRequest =
  | { op: 'check' }
  | { op: 'delete'; id: string }
  /** `for`: a duration such as 10m, 1h or 1d; without it, until lifted. */
  | { op: 'ban'; user: string; for?: string }
  | { op: 'unban'; user: string };

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isString = (value: unknown): value is string => typeof value === 'string';

/** `userId` is there when the server authenticates connections (AuthMode cognito or oidc). */
const withUserId = (value: Json): { userId?: string } => (isString(value.userId) ? { userId: value.userId } : {});

function toMessage(value: unknown): ChatMessage | null {
  if (!isObject(value)) return null;
  const { id, room, name, text, sentAt, prevId } = value;
  if (!isString(id) || !isString(room) || !isString(name) || !isString(text) || !isString(sentAt)) return null;
  return {
    id,
    room,
    name,
    text,
    sentAt,
    ...withUserId(value),
    ...(isString(prevId) && { prevId }),
    ...(value.backend === true && { backend: true }),
    ...(value.deleted === true && { deleted: true }),
  };
}

function toModeration(value: Json): ModerationResult | null {
  const { op, room, id, user, until, closed } = value;
  if (!isString(room)) return null;
  if (op === 'check') return { op, room, moderator: value.moderator === true };
  if (op === 'delete') return isString(id) ? { op, room, id } : null;
  if (op === 'unban') return isString(user) ? { op, room, user } : null;
  if (op !== 'ban' || !isString(user)) return null;
  return { op, room, user, until: isString(until) ? until : null, closed: typeof closed === 'number' ? closed : 0 };
}

function toChange(value: unknown): PresenceChange | null {
  if (!isObject(value) || (value.event !== 'join' && value.event !== 'leave') || !isString(value.name)) return null;
  return { event: value.event, name: value.name, ...withUserId(value) };
}

/** A server frame, or null for anything that is not one (never throws). */
export function parseServerFrame(data: string): ServerFrame | null {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isObject(value)) return null;
  switch (value.type) {
    case 'message': {
      const message = toMessage(value);
      // clientId: on the page's own confirmation, the id it sent the message with.
      return message && { type: 'message', ...message, ...(isString(value.clientId) && { clientId: value.clientId }) };
    }
    case 'history': {
      if (!isString(value.room) || !Array.isArray(value.messages)) return null;
      const messages = value.messages.map(toMessage).filter((m): m is ChatMessage => m !== null);
      return { type: 'history', room: value.room, messages, hasMore: value.hasMore === true };
    }
    case 'members': {
      if (!isString(value.room) || !Array.isArray(value.members)) return null;
      const members = value.members
        .filter(isObject)
        .filter((m) => isString(m.name))
        .map((m) => ({
          name: m.name as string,
          ...withUserId(m),
          ...(typeof m.connections === 'number' && m.connections > 1 && { connections: Math.floor(m.connections) }),
        }));
      const next = value.hasMore === true && isString(value.next) ? value.next : undefined;
      return { type: 'members', room: value.room, members, hasMore: next !== undefined, ...(next !== undefined && { next }) };
    }
    case 'presence': {
      if (!isString(value.room)) return null;
      // One join or leave (`event`, `name`), or several coalesced (`changes`).
      if (!Array.isArray(value.changes)) {
        const change = toChange(value);
        return change && { type: 'presence', room: value.room, ...change };
      }
      const changes = value.changes.map(toChange).filter((c): c is PresenceChange => c !== null);
      return { type: 'presence', room: value.room, changes, ...(value.incomplete === true && { incomplete: true }) };
    }
    case 'deleted':
      return isString(value.room) && isString(value.id) ? { type: 'deleted', room: value.room, id: value.id } : null;
    case 'moderation': {
      const result = toModeration(value);
      return result && { type: 'moderation', ...result };
    }
    case 'error':
      return {
        type: 'error',
        code: isString(value.code) ? value.code : 'unknown',
        message: isString(value.message) ? value.message : 'Unknown error',
      };
    case 'info':
      return { ...value, type: 'info' };
    default:
      return null;
  }
}

export const request = {
  send: (message: string, clientId: string): ClientRequest => ({ action: 'sendmessage', message, clientId }),
  members: (after?: string): ClientRequest => ({ action: 'members', ...(after !== undefined && { after }) }),
  moderate: (body: ModerateRequest): ClientRequest => ({ action: 'moderate', ...body }),
  history: (limit: number, cursor?: { after: string } | { before: string }): ClientRequest => ({
    action: 'history',
    limit: Math.min(Math.max(1, Math.floor(limit)), MAX_HISTORY_LIMIT),
    ...cursor,
  }),
};

// ---------------------------------------------------------------- validation

/** An error message for people, or null when the room is valid. */
export function roomProblem(room: string): string | null {
  if (room.length === 0) return 'Enter a room.';
  return ROOM_PATTERN.test(room) ? null : 'Use only letters, digits, “_” or “-” (no spaces), at most 64.';
}

export function nameProblem(name: string): string | null {
  const trimmed = name.trim();
  if (trimmed.length === 0) return 'Enter a name.';
  if ([...trimmed].length > MAX_NAME_LENGTH) return `A name is at most ${MAX_NAME_LENGTH} characters.`;
  return CONTROL_CHARACTERS.test(trimmed) ? 'A name cannot contain control characters.' : null;
}

export function normalizeText(text: string): string {
  return replaceTextControls(text.replace(/^\s*\n|\s+$/g, ''));
}

const encoder = new TextEncoder();
export const utf8Length = (text: string): number => encoder.encode(text).length;

/** Why a text cannot be sent (nothing in it, or over the stack's limit in UTF-8 bytes), or null. */
export function textProblem(text: string, maxBytes: number): string | null {
  const normalized = normalizeText(text);
  if (normalized.length === 0) return 'Type a message first.';
  const bytes = utf8Length(normalized);
  return bytes > maxBytes ? `Too long: ${bytes} of at most ${maxBytes} bytes (UTF-8).` : null;
}

// --------------------------------------------------------------- message ids

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A fresh client message id: sent with a message, it makes every resend of it safe (the server
 * stores it once and confirms a repeat with the original). 22 of the server's 64 safe characters.
 */
export function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

/** A ULID before every message: `history` `after` it reads a room from its beginning. */
export const BEGINNING = '0'.repeat(26);

/** The millisecond timestamp a ULID carries, or null if the id is not a ULID. */
export function ulidTime(id: string): number | null {
  if (!/^[0-9A-HJKMNP-TV-Z]{26}$/.test(id)) return null;
  let time = 0;
  for (const char of id.slice(0, 10)) time = time * 32 + CROCKFORD.indexOf(char);
  return time;
}
