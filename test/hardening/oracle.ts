/**
 * A reference model of the chat protocol as README "Using the chat" documents it, written
 * from the documentation rather than from the handlers: for any text frame, what a client
 * must get back. The fuzz test holds every answer of the runtime against it.
 *
 * - Route selection is `$request.body.action` (API Gateway): a JSON object whose `action` is a
 *   string, number or boolean naming a route goes to that route; anything else to $default.
 * - $default: a plain connection always gets the tutorial's usage text. A chat.v1 connection
 *   gets `invalid_json` (not JSON), `invalid_request` (not an object, or an action that is not
 *   a string), `info` (no action) or `unknown_action`.
 * - sendmessage: `message` a non-empty string (`invalid_request`), at most MaxMessageBytes
 *   UTF-8 bytes once neutralized (`message_too_long`); then stored and sent to the room.
 * - history: `limit` an integer 1-100 (default 50), `before`/`after` message ids (ULIDs), not
 *   both; else `invalid_request`.
 * - members: always the members of the room (unknown fields are ignored).
 */

export type ErrorCode = 'invalid_json' | 'invalid_request' | 'unknown_action' | 'message_too_long';

export type Outcome =
  | { kind: 'error'; code: ErrorCode }
  | { kind: 'info' }
  | { kind: 'history' }
  | { kind: 'members' }
  /** Stored and sent to the room; `text` is the message as sent (before neutralization). */
  | { kind: 'accepted'; text: string };

export const ROUTES = ['sendmessage', 'history', 'members'] as const;
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The route API Gateway selects for a text frame. */
export function routeOf(body: string): string {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return '$default';
  }
  if (!isObject(value)) return '$default';
  const action = value.action;
  const key = typeof action === 'string' || typeof action === 'number' || typeof action === 'boolean' ? String(action) : undefined;
  return key !== undefined && (ROUTES as readonly string[]).includes(key) ? key : '$default';
}

/** What a connection of `protocol` must get for the text frame `body`. */
export function expectedOutcome(body: string, protocol: 'plain' | 'chat.v1', maxMessageBytes = 4096): Outcome {
  const route = routeOf(body);
  if (route === '$default') {
    if (protocol === 'plain') return { kind: 'info' };
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return { kind: 'error', code: 'invalid_json' };
    }
    if (!isObject(value)) return { kind: 'error', code: 'invalid_request' };
    if (!('action' in value)) return { kind: 'info' };
    if (typeof value.action !== 'string') return { kind: 'error', code: 'invalid_request' };
    return { kind: 'error', code: 'unknown_action' };
  }
  const request = JSON.parse(body) as Record<string, unknown>;
  if (route === 'members') return { kind: 'members' };
  if (route === 'sendmessage') {
    const { message } = request;
    if (typeof message !== 'string' || message.length === 0) return { kind: 'error', code: 'invalid_request' };
    if (Buffer.byteLength(neutralized(message), 'utf8') > maxMessageBytes) return { kind: 'error', code: 'message_too_long' };
    return { kind: 'accepted', text: message };
  }
  const { limit, before, after } = request;
  const limitOk = limit === undefined || (typeof limit === 'number' && Number.isInteger(limit) && limit >= 1 && limit <= 100);
  const cursorOk = (cursor: unknown): boolean => cursor === undefined || (typeof cursor === 'string' && ULID.test(cursor));
  if (!limitOk || !cursorOk(before) || !cursorOk(after) || (before !== undefined && after !== undefined)) {
    return { kind: 'error', code: 'invalid_request' };
  }
  return { kind: 'history' };
}

/**
 * Message text as recipients must get it (README: control characters other than tab and
 * newline are replaced by U+FFFD; chat-core also replaces the bidirectional overrides and
 * isolates, which can disguise text, and lone surrogates, as README says).
 */
export function neutralized(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/gu, '\ufffd').toWellFormed();
}

/** Characters no recipient may ever get in a message text: they drive terminals or disguise text. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const FORBIDDEN_IN_TEXT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

/** What a plain (raw text) recipient sees of a string: its UTF-8 encoding decoded again. */
export const overTheWire = (text: string): string => Buffer.from(text, 'utf8').toString('utf8');
