import {
  type AttributeValue,
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { dynamodb } from '../platform/aws';
import { type Link, claimNextLink, releaseLink } from './chain';
import { type ClientIdKey, type ClientIdRecord, type Sender, readClientId, recordClientId } from './client-ids';
import { config } from '../platform/config';
import { logger } from '../platform/observability';
import type { ChatMessage, HistoryRequest } from '../wire/protocol';

type Item = Record<string, AttributeValue>;

/** A message item read back (the SDK's unmarshall) as the wire shows it: `deleted` once a moderator emptied it. */
function toMessage(item: Item): ChatMessage {
  const { id, room, name, text, sentAt, userId, prevId, backend, deletedAt } = unmarshall(item) as Record<string, unknown>;
  return {
    id: String(id ?? ''),
    room: String(room ?? ''),
    name: String(name ?? ''),
    text: String(text ?? ''),
    sentAt: String(sentAt ?? ''),
    ...(typeof userId === 'string' && { userId }),
    ...(typeof prevId === 'string' && { prevId }),
    ...(backend === true && { backend: true }),
    ...(typeof deletedAt === 'string' && { deleted: true }),
  };
}

export interface MessageDraft {
  room: string;
  name: string;
  text: string;
  connectionId: string;
  userId?: string;
  /** Published through the backend API (publish.ts), not by a person. */
  backend?: true;
}

export interface SavedMessage {
  message: ChatMessage;
  /**
   * True when the send repeated a clientId whose message was already stored: nothing new was
   * stored, and the room must not receive it again.
   */
  repeat: boolean;
}

const expiry = (now: number): number => Math.floor(now / 1000) + config.MESSAGE_RETENTION_DAYS * 24 * 60 * 60;

/**
 * A place in a room's chain taken ahead of its message: sendmessage takes it while the sender
 * is still being checked (rate limits, the connection's record), when it knows the room
 * already (sender-rooms.ts), and with a clientId reads that clientId's record at the same
 * time. Either saveMessage uses it or cancelReservation gives it back.
 */
export interface Reservation {
  room: string;
  now: number;
  link: Promise<Link>;
  /** The clientId's record, read ahead for this key. */
  earlier?: { key: ClientIdKey; record: Promise<ClientIdRecord | undefined> };
}

export function reservePlace(room: string, ahead: { sender?: Sender; clientId?: string } = {}, now = Date.now()): Reservation {
  const link = claimNextLink(room, now, expiry(now));
  link.catch(() => undefined); // its failure is saveMessage's to report, when it is used
  const { sender, clientId } = ahead;
  if (sender === undefined || clientId === undefined) return { room, now, link };
  const key = { room, sender, clientId };
  const record = readClientId(key, now);
  record.catch(() => undefined); // as the link's
  return { room, now, link, earlier: { key, record } };
}

/** The record read ahead, when it was read for `key` (the same room, sender and clientId). */
function readAhead(reserved: Reservation | undefined, key: ClientIdKey): Promise<ClientIdRecord | undefined> | undefined {
  const ahead = reserved?.earlier?.key;
  const same =
    ahead !== undefined &&
    ahead.room === key.room &&
    ahead.clientId === key.clientId &&
    ahead.sender.connectionId === key.sender.connectionId &&
    ahead.sender.userId === key.sender.userId;
  return same ? reserved?.earlier?.record : undefined;
}

/** Gives back a reserved place whose message will not be stored (a refused or invalid send). */
export async function cancelReservation(reservation: Reservation): Promise<void> {
  const link = await reservation.link.catch(() => undefined);
  if (link) await giveBack(reservation.room, link);
}

/**
 * Stores a message (before anyone receives it) in the next place of its room's chain
 * (chain.ts), or the place `reserved` for it, and returns it with its id and `prevId`. With a
 * `clientId` the send is idempotent (client-ids.ts): a repeat from the same sender returns the
 * original message (and gives back the reservation).
 */
export async function saveMessage(
  draft: MessageDraft,
  options: { clientId?: string; now?: number; reserved?: Reservation } = {},
): Promise<SavedMessage> {
  let reserved = options.reserved;
  if (reserved && reserved.room !== draft.room) {
    await cancelReservation(reserved);
    reserved = undefined;
  }
  const now = reserved?.now ?? options.now ?? Date.now();
  const key = options.clientId === undefined ? undefined : { room: draft.room, sender: draft, clientId: options.clientId };
  if (key) {
    const earlier = await (readAhead(reserved, key) ?? readClientId(key, now));
    if (earlier) {
      if (reserved) await cancelReservation(reserved);
      return storeInPlace(draft, earlier);
    }
  }
  return storeNew(draft, key, now, reserved?.link);
}

async function storeNew(draft: MessageDraft, key: ClientIdKey | undefined, now: number, reserved?: Promise<Link>): Promise<SavedMessage> {
  const expiresAt = expiry(now);
  const sentAt = new Date(now).toISOString();
  const link = await (reserved ?? claimNextLink(draft.room, now, expiresAt));
  let recorded = false;
  try {
    recorded = key !== undefined && (await recordClientId(key, { ...link, sentAt }, expiresAt));
    if (key === undefined || recorded) return await putInPlace(draft, { ...link, sentAt });
  } catch (error: unknown) {
    // Once a clientId record names the place, a repeat of the send stores the message there.
    if (!recorded) await giveBack(draft.room, link);
    throw error;
  }
  // Another send with this clientId recorded its place first: this one repeats it.
  await giveBack(draft.room, link);
  const first = key === undefined ? undefined : await readClientId(key, now);
  if (!first) throw new Error('a send with this clientId was recorded but its record cannot be read');
  return storeInPlace(draft, first);
}

async function giveBack(room: string, link: Link): Promise<void> {
  try {
    await releaseLink(room, link);
  } catch (error: unknown) {
    logger.warn('could not give back a place in the room', { room, messageId: link.id, error: error as Error });
  }
}

/**
 * Stores the message in a place already taken, unless it is stored there already: a repeat
 * of a send whose first attempt recorded its place and then failed (or is still on its way)
 * stores it, and whichever of the two comes second finds it stored.
 */
async function storeInPlace(draft: MessageDraft, place: ClientIdRecord): Promise<SavedMessage> {
  const found = await readMessage(draft.room, place.id);
  return found ? { message: found, repeat: true } : putInPlace(draft, place);
}

/** Writes the message in its place; if it is there already (a repeat got there first), returns that one. */
async function putInPlace(draft: MessageDraft, place: ClientIdRecord): Promise<SavedMessage> {
  const message: ChatMessage = {
    id: place.id,
    room: draft.room,
    name: draft.name,
    text: draft.text,
    sentAt: place.sentAt,
    ...(draft.userId !== undefined && { userId: draft.userId }),
    ...(place.prevId !== undefined && { prevId: place.prevId }),
    ...(draft.backend && { backend: true }),
  };
  try {
    await dynamodb.send(
      new PutItemCommand({
        TableName: config.MESSAGES_TABLE,
        // The message as the wire shows it, and who sent it (the clientId record's key) and its TTL.
        Item: marshall({ ...message, connectionId: draft.connectionId, expiresAt: expiry(Date.parse(message.sentAt)) }),
        ConditionExpression: 'attribute_not_exists(id)',
      }),
    );
    return { message, repeat: false };
  } catch (error: unknown) {
    const stored = error instanceof ConditionalCheckFailedException ? await readMessage(draft.room, place.id) : undefined;
    if (stored) return { message: stored, repeat: true };
    throw error;
  }
}

async function readMessage(room: string, id: string): Promise<ChatMessage | undefined> {
  const { Item } = await dynamodb.send(
    new GetItemCommand({
      TableName: config.MESSAGES_TABLE,
      Key: { room: { S: room }, id: { S: id } },
      ConsistentRead: true,
      ProjectionExpression: MESSAGE_FIELDS,
      ExpressionAttributeNames: { '#name': 'name', '#text': 'text' },
    }),
  );
  return Item ? toMessage(Item) : undefined;
}

/** What a reader gets of a stored message. */
const MESSAGE_FIELDS = 'room, id, #name, #text, sentAt, userId, prevId, backend, deletedAt';

export interface HistoryPage {
  messages: ChatMessage[];
  hasMore: boolean;
}

/**
 * A page of a room's messages, oldest first. Without a cursor: the latest
 * `limit`; `before`: the `limit` just before that id; `after`: the `limit` just
 * after it. `hasMore` says whether more lie further in the direction read.
 */
export async function readHistory(room: string, request: HistoryRequest): Promise<HistoryPage> {
  const forward = request.after !== undefined;
  // TTL deletes lazily (AWS allows days), so expired messages are filtered out here.
  const values: Item = { ':room': { S: room }, ':now': { N: String(Math.floor(Date.now() / 1000)) } };
  let condition = 'room = :room';
  if (request.after !== undefined) {
    condition += ' AND id > :after';
    values[':after'] = { S: request.after };
  } else if (request.before !== undefined) {
    condition += ' AND id < :before';
    values[':before'] = { S: request.before };
  }
  const wanted = request.limit + 1; // one more than asked tells whether there is more
  const items: Item[] = [];
  let startKey: Item | undefined;
  do {
    const page = await dynamodb.send(
      new QueryCommand({
        TableName: config.MESSAGES_TABLE,
        KeyConditionExpression: condition,
        FilterExpression: 'expiresAt > :now',
        ExpressionAttributeValues: values,
        ProjectionExpression: MESSAGE_FIELDS,
        ExpressionAttributeNames: { '#name': 'name', '#text': 'text' },
        ScanIndexForward: forward,
        Limit: wanted - items.length,
        ExclusiveStartKey: startKey,
      }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey && items.length < wanted);
  const hasMore = items.length > request.limit;
  const messages = items.slice(0, request.limit).map(toMessage);
  if (!forward) messages.reverse();
  return { messages, hasMore };
}
