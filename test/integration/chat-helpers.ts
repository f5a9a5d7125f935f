/**
 * The chat protocol (README "Using the chat") from the outside, for the chat-*.test.ts
 * integration tests: the project's template.yaml behind the local runtime, real `ws`
 * clients joined to rooms by query string and subprotocol, and typed chat.v1 frames.
 * Builds on ./helpers (runtime start, Client, connect, refusal).
 */
import { expect } from 'chai';
import type WebSocket from 'ws';
import type { LocalRuntime, LocalRuntimeOptions } from '../../local/src/index';
import { CHAT_V1, type ChatMessage } from 'chat-core/wire';
import { connect, ONE_ADDRESS_FOR_ALL, PROJECT_TEMPLATE, refusal, startRuntime, type Client } from './helpers';

/** The chat.v1 subprotocol (chat-core's wire rules). */
export { CHAT_V1 };

/** How long a client must stay silent to count as "received nothing". */
export const QUIET_MS = 400;
/** How long to wait for a frame that should come. */
export const FRAME_TIMEOUT_MS = 10_000;
/** A ULID: 26 characters of Crockford's base 32. */
export const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
export const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** A stored message as the wire rules define it (`userId` only with AuthMode cognito or oidc). */
export type { ChatMessage };
export type MessageFrame = { type: 'message' } & ChatMessage;
export interface HistoryFrame {
  type: 'history';
  room: string;
  messages: ChatMessage[];
  hasMore: boolean;
}
export interface MembersFrame {
  type: 'members';
  room: string;
  members: { name: string; userId?: string; connections?: number }[];
  hasMore: boolean;
  next?: string;
}
export interface PresenceFrame {
  type: 'presence';
  event: 'join' | 'leave';
  room: string;
  name: string;
  userId?: string;
}
export interface ErrorFrame {
  type: 'error';
  code: string;
  message: string;
}
export interface InfoFrame {
  type: 'info';
  message: string;
  connectionID: string;
  [field: string]: unknown;
}
export interface DeletedFrame {
  type: 'deleted';
  room: string;
  id: string;
}
export interface ModerationFrame {
  type: 'moderation';
  op: string;
  room: string;
  [field: string]: unknown;
}
export type ChatFrame =
  MessageFrame | HistoryFrame | MembersFrame | PresenceFrame | ErrorFrame | InfoFrame | DeletedFrame | ModerationFrame;
type FrameOf<T extends ChatFrame['type']> = Extract<ChatFrame, { type: T }>;

let roomCounter = 0;
/** A room name no other test (or run) uses: valid room syntax, at most 64 characters. */
export function uniqueRoom(label = 'room'): string {
  roomCounter += 1;
  const stamp = `${process.pid.toString(36)}-${Date.now().toString(36)}-${roomCounter}`;
  return `${label.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 30)}-${stamp}`;
}

export interface JoinOptions {
  room?: string;
  name?: string;
  /** Ask for the chat.v1 subprotocol (and check that it was negotiated). */
  v1?: boolean;
  /** Keep the client open across tests (closed by stop(), not by closeClients()). */
  keep?: boolean;
}

/** The WebSocket URL with `room` and `name` in the query string (each only when given). */
export function chatUrl(runtime: LocalRuntime, { room, name }: JoinOptions = {}): string {
  const query = new URLSearchParams();
  if (room !== undefined) query.set('room', room);
  if (name !== undefined) query.set('name', name);
  const search = query.toString();
  return search === '' ? runtime.wsUrl : `${runtime.wsUrl}?${search}`;
}

/** The HTTP status and body of a refused upgrade (fails if accepted), offering `protocols`. */
export function refusalOf(url: string, protocols: string[] = []): Promise<{ status: number; body: string }> {
  // helpers.connect (which refusal calls) takes the offered subprotocols as `protocols`.
  return refusal(url, { protocols } as WebSocket.ClientOptions);
}

/**
 * The project's template behind a local runtime shared by one test file; every client a
 * test joins is closed after it (afterEach), so tests leave nobody behind in their rooms.
 */
export class ChatRuntime {
  private current: LocalRuntime | undefined;
  private clients: Client[] = [];
  private kept: Client[] = [];

  get runtime(): LocalRuntime {
    if (this.current === undefined) throw new Error('the chat runtime is not started (before hook failed?)');
    return this.current;
  }

  /** Starts the project's template, the limits per identity lifted unless options set them. */
  async start(options: LocalRuntimeOptions = {}): Promise<void> {
    this.current = await startRuntime({
      templatePath: PROJECT_TEMPLATE,
      ...options,
      env: { ...ONE_ADDRESS_FOR_ALL, ...options.env },
    });
  }

  /** Connects to a room; with `v1`, fails unless chat.v1 was negotiated. */
  async join(options: JoinOptions = {}): Promise<Client> {
    const client = await connect(chatUrl(this.runtime, options), options.v1 ? { protocols: [CHAT_V1] } : {});
    (options.keep ? this.kept : this.clients).push(client);
    expect(client.ws.protocol, 'negotiated subprotocol').to.equal(options.v1 ? CHAT_V1 : '');
    return client;
  }

  /** Closes every client joined (without `keep`) since the last call. */
  async closeClients(): Promise<void> {
    const clients = this.clients.splice(0);
    await Promise.all(clients.map((client) => client.close()));
  }

  async stop(): Promise<void> {
    await this.closeClients();
    await Promise.all(this.kept.splice(0).map((client) => client.close()));
    await this.current?.close();
    this.current = undefined;
  }
}

/** The next raw frame, failing with `what` was awaited when none comes in time. */
export async function nextText(client: Client, what: string, timeoutMs = FRAME_TIMEOUT_MS): Promise<string> {
  try {
    return await client.next(timeoutMs);
  } catch {
    throw new Error(`expected ${what} within ${timeoutMs} ms, received nothing`);
  }
}

/** The next frame, which must be a chat.v1 JSON frame of `type`; the whole frame is shown otherwise. */
export async function nextFrame<T extends ChatFrame['type']>(
  client: Client,
  type: T,
  what: string = `a ${type} frame`,
  timeoutMs = FRAME_TIMEOUT_MS,
): Promise<FrameOf<T>> {
  const text = await nextText(client, what, timeoutMs);
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    throw new Error(`expected ${what} (JSON), received the text ${JSON.stringify(text)}`);
  }
  expect(frame, `expected ${what}, received ${text}`).to.be.an('object').with.property('type', type);
  const { changes, room } = frame as { changes?: unknown[]; room: string };
  if (type === 'presence' && Array.isArray(changes) && changes.length > 0) {
    // Presence is coalesced per room (presence.ts): a batch reads as its joins and leaves in
    // order, the first now, the others as the next frames.
    const [first, ...others] = changes.map((change) => ({ type: 'presence', room, ...(change as object) }));
    client.messages.unshift(...others.map((change) => JSON.stringify(change)));
    return first as FrameOf<T>;
  }
  return frame as FrameOf<T>;
}

/** Asserts, by waiting `ms`, that the client has received nothing it has not read yet. */
export async function expectSilence(client: Client, what: string, ms = QUIET_MS): Promise<void> {
  const received = await client.quietFor(ms);
  expect(received, `${what} should have received nothing`).to.deep.equal([]);
}

/** Checks a `message` frame's fields (all present, well-formed) and returns it. */
export function expectMessageFrame(frame: FrameOf<'message'>, expected: { room: string; name: string; text: string }): MessageFrame {
  // prevId: the id of the room's previous message, absent on a room's first.
  expect(
    Object.keys(frame)
      .filter((key) => key !== 'prevId')
      .sort(),
    'message frame fields',
  ).to.deep.equal(['id', 'name', 'room', 'sentAt', 'text', 'type']);
  if (frame.prevId !== undefined) expect(frame.prevId < frame.id, 'prevId names an earlier message').to.equal(true);
  expect(frame.id, 'message id').to.match(ULID);
  expect(frame.sentAt, 'sentAt').to.match(ISO_8601);
  expect(Math.abs(Date.parse(frame.sentAt) - Date.now()), 'sentAt is about now').to.be.below(60_000);
  expect({ room: frame.room, name: frame.name, text: frame.text }).to.deep.equal(expected);
  return frame;
}

/** A chat.v1 client sends `text` and waits for its own `message` frame (the stored message). */
export async function say(client: Client, text: string): Promise<MessageFrame> {
  client.send({ action: 'sendmessage', message: text });
  const frame = await nextFrame(client, 'message', `the confirmation of ${JSON.stringify(text.slice(0, 40))}`);
  expect(frame.text, 'the confirmation is the message just sent').to.equal(text);
  return frame;
}

/** A chat.v1 client's `history` request and its answer. */
export async function history(client: Client, request: { limit?: unknown; before?: unknown; after?: unknown } = {}): Promise<HistoryFrame> {
  client.send({ action: 'history', ...request });
  return nextFrame(client, 'history', `the answer to history ${JSON.stringify(request)}`);
}

/** A chat.v1 client's request answered by an `error` frame; returns it after checking the code. */
export async function expectError(client: Client, frame: string | object, code: string): Promise<ErrorFrame> {
  client.send(frame);
  const answer = await nextFrame(client, 'error', `error ${code} for ${JSON.stringify(frame).slice(0, 80)}`);
  expect(answer.code, `error code (message: ${answer.message})`).to.equal(code);
  expect(answer.message, 'error message for people').to.be.a('string').and.not.equal('');
  return answer;
}
