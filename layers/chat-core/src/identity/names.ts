import { randomInt } from 'node:crypto';
import * as z from 'zod';
import { ChatError, type ErrorCode } from '../wire/errors';
import { CONTROL_CHARACTERS as CONTROL, DEFAULT_ROOM, MAX_NAME_LENGTH, ROOM_PATTERN, replaceTextControls } from '../wire/wire';

export { DEFAULT_ROOM };

const room = z.string().regex(ROOM_PATTERN, { error: 'room must be 1-64 characters of A-Z, a-z, 0-9, _ or -' });
const name = z
  .string()
  .trim()
  .refine((value) => value.length > 0 && [...value].length <= MAX_NAME_LENGTH, {
    error: `name must be 1-${MAX_NAME_LENGTH} characters after trimming`,
  })
  .refine((value) => !CONTROL.test(value), { error: 'name must not contain control characters' });

function check<T>(schema: z.ZodType<T>, value: unknown, code: ErrorCode): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new ChatError(code, result.error.issues[0]?.message ?? `invalid ${code}`);
  return result.data;
}

/** The room asked for at connect (query `room`), or the lobby. */
export function parseRoom(value: string | undefined): string {
  return value === undefined ? DEFAULT_ROOM : check(room, value, 'invalid_room');
}

/** The display name asked for at connect (query `name`), trimmed, or a generated one. */
export function parseName(value: string | undefined): string {
  return value === undefined ? defaultName() : check(name, value, 'invalid_name');
}

/**
 * The display name a token gives (AuthMode cognito or oidc), made to fit the name rules
 * rather than refused: the person cannot change their token, so control characters and
 * bidirectional overrides are dropped and the name is cut to its first 32 characters.
 * Nothing left: the generated default.
 */
export function nameFromToken(value: string): string {
  const cleaned = [...value.replace(new RegExp(CONTROL.source, 'gu'), '').trim()].slice(0, MAX_NAME_LENGTH).join('').trim();
  return cleaned === '' ? defaultName() : cleaned;
}

const GUEST_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';
const GUEST_TAG_LENGTH = 6;

/**
 * A readable default such as `guest-k3vq8m`: 6 random characters (about a billion
 * possibilities), so the name reveals nothing of the connection id, which is the handle the
 * Management API acts on (docs/SECURITY.md 5.4). Letters and digits that look alike are left out.
 */
export function defaultName(): string {
  const tag = Array.from({ length: GUEST_TAG_LENGTH }, () => GUEST_ALPHABET[randomInt(GUEST_ALPHABET.length)]).join('');
  return `guest-${tag}`;
}

/**
 * Message text with control characters other than tab and newline replaced by
 * U+FFFD, so that one user's message cannot drive another user's terminal (wscat
 * prints frames as they come) or hide itself behind bidirectional overrides.
 * Lone UTF-16 surrogates are replaced as well, so that what is stored is valid UTF-8.
 */
export function neutralizeControls(text: string): string {
  // Lone surrogates are not text: they become U+FFFD too, as TextEncoder would make them.
  return replaceTextControls(text).toWellFormed();
}
