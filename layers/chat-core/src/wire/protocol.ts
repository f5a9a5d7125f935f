import * as z from 'zod';
import { ChatError } from './errors';
import { CHAT_V1, type Frame, MAX_HISTORY_LIMIT, type ModerationResult } from './wire';

export { CHAT_V1, MAX_HISTORY_LIMIT };
import { TOKEN_SUBPROTOCOL_PREFIX, offeredSubprotocols } from '../identity/identity';
import { neutralizeControls } from '../identity/names';

/**
 * How a connection wants its frames: `plain` is the tutorial's raw text (what a
 * bare `wscat -c URL` gets); `chat.v1` is JSON frames, chosen with the WebSocket
 * subprotocol of that name.
 */
export type Protocol = 'plain' | 'chat.v1';

/**
 * The subprotocol a $connect asked for; a client that asks only for others is refused. A
 * `token.<jwt>` entry is how a browser presents its token (see identity.ts), not a protocol.
 */
export function negotiateProtocol(requested: string | undefined): Protocol {
  const offered = offeredSubprotocols(requested).filter((entry) => !entry.startsWith(TOKEN_SUBPROTOCOL_PREFIX));
  if (offered.length === 0) return 'plain';
  if (offered.includes(CHAT_V1)) return CHAT_V1;
  throw new ChatError('unsupported_subprotocol', `unsupported subprotocol; this API speaks ${CHAT_V1}`);
}

export type { ChatMessage, ConnectionInfo, Frame, Member, ModerationResult, PresenceChange } from './wire';

export const USAGE = 'Use the sendmessage route to send a message.';

/**
 * A frame as the given protocol receives it, or undefined when that protocol does
 * not receive this kind of frame (presence is for chat.v1 clients only).
 */
export function encodeFrame(frame: Frame, protocol: Protocol): string | undefined {
  if (protocol === CHAT_V1) return JSON.stringify(frame);
  switch (frame.type) {
    case 'message':
      return frame.text;
    case 'history':
      return frame.messages.length === 0
        ? `No messages in ${frame.room}.`
        : frame.messages.map((m) => `[${m.sentAt}] ${m.name}: ${m.text}`).join('\n');
    case 'members': {
      const names = `In ${frame.room}: ${frame.members.map((m) => m.name).join(', ')}`;
      return frame.next === undefined ? names : `${names} (more: {"action":"members","after":"${frame.next}"})`;
    }
    case 'presence':
      return undefined;
    case 'error':
      return `Error: ${frame.message}`;
    case 'deleted':
      return `(a moderator deleted message ${frame.id})`;
    case 'moderation':
      return `Done: ${describeModeration(frame)}`;
    case 'info': {
      const { ConnectedAt, Identity, LastActiveAt, connectionID } = frame;
      return `${USAGE} Your info: ${JSON.stringify({ ConnectedAt, Identity, LastActiveAt, connectionID })}`;
    }
  }
}

/** A moderation result in words (a plain connection's answer, the commands' summary). */
export function describeModeration(result: ModerationResult): string {
  switch (result.op) {
    case 'check':
      return result.moderator ? `you moderate ${result.room}` : `you do not moderate ${result.room}`;
    case 'delete':
      return `deleted message ${result.id} in ${result.room}`;
    case 'ban':
      return `banned ${result.user} from ${result.room} ${result.until === null ? 'until unbanned' : `until ${result.until}`} (${result.closed} connection(s) closed)`;
    case 'unban':
      return `unbanned ${result.user} in ${result.room}`;
  }
}

export function errorFrame(error: ChatError): Frame {
  return { type: 'error', code: error.code, message: error.message };
}

// ------------------------------------------------------------------ requests

/** The JSON body of a frame; anything that is not a JSON object is refused. */
export function parseBody(body: string | null | undefined): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body ?? '');
  } catch {
    throw new ChatError('invalid_json', 'the frame is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ChatError('invalid_request', 'the frame must be a JSON object');
  }
  return value as Record<string, unknown>;
}

function parseWith<T>(schema: z.ZodType<T>, body: string | null | undefined): T {
  return parseFields(schema, parseBody(body));
}

/** A request's fields checked against `schema`; invalid_request names the first field that is wrong. */
export function parseFields<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new ChatError('invalid_request', `${where}${issue?.message ?? 'invalid request'}`);
  }
  return result.data;
}

/** A client message id: what a client may repeat a send with, safely (idempotent sends). */
export const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

const sendMessageRequest = z.object({
  action: z.literal('sendmessage'),
  message: z.string({ error: 'message must be a string' }).min(1, { error: 'message must not be empty' }),
  clientId: z
    .string({ error: 'clientId must be a string' })
    .regex(CLIENT_ID, { error: 'clientId must be 1 to 64 of A-Z a-z 0-9 _ -' })
    .optional(),
});

export interface SendMessageRequest {
  text: string;
  /** The client's id for this message: a repeat with the same one is not stored twice. */
  clientId?: string;
}

/** A sendmessage request; the text is returned with control characters and lone surrogates neutralized. */
export function parseSendMessage(body: string | null | undefined, maxBytes: number): SendMessageRequest {
  const { message, clientId } = parseWith(sendMessageRequest, body);
  // Measured after neutralizing, so the limit bounds what is stored and delivered.
  const text = neutralizeControls(message);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) {
    throw new ChatError('message_too_long', `message is ${bytes} bytes; the limit is ${maxBytes} UTF-8 bytes`);
  }
  return { text, ...(clientId !== undefined && { clientId }) };
}

const messageId = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, { error: 'must be a message id' });

const historyRequest = z
  .object({
    action: z.literal('history'),
    limit: z.number().int().min(1).max(MAX_HISTORY_LIMIT).default(50),
    before: messageId.optional(),
    after: messageId.optional(),
  })
  .refine((request) => request.before === undefined || request.after === undefined, {
    error: 'give before or after, not both',
  });

export interface HistoryRequest {
  limit: number;
  before?: string;
  after?: string;
}

export function parseHistory(body: string | null | undefined): HistoryRequest {
  const { limit, before, after } = parseWith(historyRequest, body);
  return { limit, ...(before !== undefined && { before }), ...(after !== undefined && { after }) };
}

/**
 * A members cursor: the last connection id of the previous page, base64url-encoded, as the
 * `next` of a members answer gives it. API Gateway connection ids are short printable ASCII.
 */
export function encodeMembersCursor(connectionId: string): string {
  return Buffer.from(connectionId, 'utf8').toString('base64url');
}

const MEMBERS_CURSOR_ERROR = 'must be the next cursor of a members answer';

const membersCursor = z
  .string({ error: MEMBERS_CURSOR_ERROR })
  .regex(/^[A-Za-z0-9_-]{1,256}$/, { error: MEMBERS_CURSOR_ERROR })
  .transform((cursor, context) => {
    const connectionId = Buffer.from(cursor, 'base64url').toString('utf8');
    // Canonical encodings of printable ASCII only: anything else never came from us.
    if (!/^[\x21-\x7e]{1,128}$/.test(connectionId) || encodeMembersCursor(connectionId) !== cursor) {
      context.addIssue({ code: 'custom', message: MEMBERS_CURSOR_ERROR });
      return z.NEVER;
    }
    return connectionId;
  });

const membersRequest = z.object({ action: z.literal('members'), after: membersCursor.optional() });

/** A members request: the connection id to continue after, for a following page. */
export function parseMembers(body: string | null | undefined): { after?: string } {
  const { after } = parseWith(membersRequest, body);
  return after === undefined ? {} : { after };
}
