import { ChatError } from './errors';

export const DEFAULT_ROOM = 'lobby';
const ROOM = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_NAME_LENGTH = 32;
/** C0 and C1 control characters, DEL, and the bidirectional overrides that can disguise text. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

export function parseRoom(value: string | undefined): string {
  if (value === undefined) return DEFAULT_ROOM;
  if (!ROOM.test(value)) {
    throw new ChatError('invalid_room', 'room must be 1-64 characters of A-Z, a-z, 0-9, _ or -');
  }
  return value;
}

export function parseName(value: string | undefined, connectionId: string): string {
  if (value === undefined) return defaultName(connectionId);
  const name = value.trim();
  if (name.length === 0 || [...name].length > MAX_NAME_LENGTH) {
    throw new ChatError('invalid_name', `name must be 1-${MAX_NAME_LENGTH} characters after trimming`);
  }
  if (CONTROL.test(name)) {
    throw new ChatError('invalid_name', 'name must not contain control characters');
  }
  return name;
}

/** A readable default such as `guest-Mg_u`, stable for the connection. */
export function defaultName(connectionId: string): string {
  const tag = connectionId.replace(/[^A-Za-z0-9]/g, '').slice(0, 4) || 'anon';
  return `guest-${tag}`;
}

/**
 * Message text with control characters other than tab and newline replaced by
 * U+FFFD, so that one user's message cannot drive another user's terminal (wscat
 * prints frames as they come) or hide itself behind bidirectional overrides.
 */
export function neutralizeControls(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/gu, '\ufffd');
}
