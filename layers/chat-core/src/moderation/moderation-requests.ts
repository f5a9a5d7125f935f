import * as z from 'zod';
import { ChatError } from '../wire/errors';
import { CLIENT_ID, parseBody, parseFields } from '../wire/protocol';
import { ROOM_PATTERN } from '../wire/wire';

/**
 * What a moderator or a backend asks for, parsed once for both ways in: the chat.v1 action
 * `moderate` (the room is the moderator's connection's) and the backend API's POST /moderation
 * and POST /messages (the room is named). Every refusal is an invalid_request that says which
 * field is wrong.
 */

/** The longest ban with an end; a ban without `for` lasts until it is lifted. */
export const MAX_BAN_SECONDS = 366 * 24 * 60 * 60;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/** `90s`, `30m`, `2h`, `7d` or a number of seconds, as seconds; undefined when it is none of these (or out of range). */
export function durationSeconds(value: string | number): number | undefined {
  const match = /^(\d{1,9})([smhd]?)$/.exec(String(value).trim());
  if (!match) return undefined;
  const seconds = Number(match[1]) * UNIT_SECONDS[(match[2] || 's') as keyof typeof UNIT_SECONDS];
  return seconds >= 1 && seconds <= MAX_BAN_SECONDS ? seconds : undefined;
}

const messageId = z.string({ error: 'id must be a message id' }).regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, { error: 'id must be a message id' });
/** A user is a token's subject: what `userId` says on messages and members. */
const user = z
  .string({ error: 'user must be a string' })
  .min(1, { error: 'user must not be empty' })
  .max(256, { error: 'user is at most 256 characters' });
const banFor = z
  .union([z.string(), z.number()], { error: 'for must be a duration' })
  .refine((value) => durationSeconds(value) !== undefined, { error: 'for must be a duration such as 90s, 30m, 2h or 7d (at most 366d)' });
const room = z.string({ error: 'room must be a string' }).regex(ROOM_PATTERN, { error: 'room must be 1-64 of A-Z a-z 0-9 _ -' });

const operations = [
  z.object({ op: z.literal('check') }),
  z.object({ op: z.literal('delete'), id: messageId }),
  z.object({ op: z.literal('ban'), user, for: banFor.optional() }),
  z.object({ op: z.literal('unban'), user }),
] as const;
const operation = z.discriminatedUnion('op', operations, { error: 'op must be check, delete, ban or unban' });

/** One moderation action, in the moderator's room or the one the backend names. */
export type ModerationRequest =
  | { op: 'check'; room: string }
  | { op: 'delete'; room: string; id: string }
  /** `seconds`: the ban's length; absent, until lifted. */
  | { op: 'ban'; room: string; user: string; seconds?: number }
  | { op: 'unban'; room: string; user: string };

function toRequest(parsed: z.infer<typeof operation>, inRoom: string): ModerationRequest {
  if (parsed.op !== 'ban') return { ...parsed, room: inRoom };
  const { for: length, ...rest } = parsed;
  const seconds = length === undefined ? undefined : durationSeconds(length);
  return { ...rest, room: inRoom, ...(seconds !== undefined && { seconds }) };
}

/** The chat.v1 action `moderate`, in the sender's room. */
export function parseModerate(body: string | null | undefined, inRoom: string): ModerationRequest {
  const { action: _action, ...fields } = parseBody(body);
  return toRequest(parseFields(operation, fields), inRoom);
}

/** POST /moderation of the backend API: the same actions, with the room named (check is the WebSocket's). */
export function parseBackendModeration(body: string | null | undefined): ModerationRequest {
  const fields = parseBody(body);
  const named = parseFields(z.object({ room }), { room: fields.room });
  const { room: _room, ...rest } = fields;
  const request = toRequest(parseFields(operation, rest), named.room);
  if (request.op === 'check')
    throw new ChatError('invalid_request', 'op: check is for a moderator on the WebSocket; use delete, ban or unban');
  return request;
}

/** POST /messages of the backend API. */
export interface PublishRequest {
  room: string;
  text: string;
  /** The sender's name as shown; `system` unless given. */
  name: string;
  /** The caller's id for this message: a repeat with the same one is not stored twice (as a sendmessage clientId). */
  id?: string;
}

const publishRequest = z.strictObject(
  {
    room,
    text: z.string({ error: 'text must be a string' }).min(1, { error: 'text must not be empty' }),
    name: z.string({ error: 'name must be a string' }).optional(),
    id: z.string({ error: 'id must be a string' }).regex(CLIENT_ID, { error: 'id must be 1 to 64 of A-Z a-z 0-9 _ -' }).optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `unknown field ${issue.keys.join(', ')}: give room, text, name and id` : undefined,
  },
);

export function parsePublishRequest(body: string | null | undefined): Omit<PublishRequest, 'name'> & { name?: string } {
  const { room: inRoom, text, name, id } = parseFields(publishRequest, parseBody(body));
  return { room: inRoom, text, ...(name !== undefined && { name }), ...(id !== undefined && { id }) };
}
