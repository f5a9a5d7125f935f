import { ConditionalCheckFailedException, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { TIME_LEN, decodeTime, encodeTime, incrementBase32, monotonicFactory } from 'ulid';
import { dynamodb } from '../platform/aws';
import { config } from '../platform/config';

/**
 * Each room's messages form a chain: every message names the one stored just before it in
 * its room (`prevId`), so a connected client that holds the message a frame names as
 * previous knows it missed nothing, and one that does not knows exactly where to catch up
 * from with `history` (after the newest id it holds).
 *
 * Why a chain rather than a per-room sequence number: history pages and catch-up cursors are
 * message ids already, and a chain needs no second order to keep in step with them. A
 * message takes its place with one conditional write to the room's head item (the newest id
 * of the room): the head only ever moves to a greater id, and the write returns the id it
 * replaced, which becomes the new message's `prevId`. Two senders at once cannot both follow
 * the same message: the second write finds the head past its id, reads the head again and
 * takes an id after it. So chain order is id order, which is history's order.
 *
 * The head item lives in the messages table under a key no room can have (rooms never
 * contain `#`), so history queries, which read one room's partition, never see it.
 */

/** ULIDs: unique, and sortable by time, so a room's messages sort by id. */
const nextId = monotonicFactory();

/** Where a new message goes in its room: its id, and the id of the message before it. */
export interface Link {
  id: string;
  /** Absent for a room's first message (or the first since its history expired). */
  prevId?: string;
}

const HEAD_ID = 'head';
const headKey = (room: string) => ({ room: { S: `head#${room}` }, id: { S: HEAD_ID } });

/**
 * Attempts at the head before giving up: each failed one means another sender just got in, so
 * every round lets one through. Between attempts a short random wait spreads the ones that
 * collided; the room's head is its one point of contention (README, "Seeing a gap").
 */
const MAX_CLAIM_ATTEMPTS = 20;
const CLAIM_JITTER_MS = 5;

/** An id made at `now`, unless that would not be after `after` (another instance's clock runs ahead): then the next one after it. */
export function idAfter(after: string | undefined, now: number): string {
  const id = nextId(now);
  if (after === undefined || id > after) return id;
  const random = after.slice(TIME_LEN);
  // The random part at its greatest: the next id is the next millisecond's first.
  if (/^Z+$/.test(random)) return encodeTime(decodeTime(after) + 1) + '0'.repeat(random.length);
  return after.slice(0, TIME_LEN) + incrementBase32(random);
}

/** Takes the next place in a room's chain (see above); `expiresAt` keeps the head as long as its newest message. */
export async function claimNextLink(room: string, now: number, expiresAt: number): Promise<Link> {
  let id = nextId(now);
  for (let attempt = 1; ; attempt += 1) {
    try {
      const { Attributes } = await dynamodb.send(
        new UpdateItemCommand({
          TableName: config.MESSAGES_TABLE,
          Key: headKey(room),
          UpdateExpression: 'SET lastId = :id, expiresAt = :expiresAt',
          ConditionExpression: 'attribute_not_exists(lastId) OR lastId < :id',
          ExpressionAttributeValues: { ':id': { S: id }, ':expiresAt': { N: String(expiresAt) } },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const prevId = Attributes?.lastId?.S;
      return { id, ...(prevId !== undefined && { prevId }) };
    } catch (error: unknown) {
      if (!(error instanceof ConditionalCheckFailedException) || attempt >= MAX_CLAIM_ATTEMPTS) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.random() * CLAIM_JITTER_MS * attempt));
    id = idAfter(await readHead(room), Date.now());
  }
}

async function readHead(room: string): Promise<string | undefined> {
  const { Item } = await dynamodb.send(new GetItemCommand({ TableName: config.MESSAGES_TABLE, Key: headKey(room), ConsistentRead: true }));
  return Item?.lastId?.S;
}

/**
 * Gives a place back when its message will not be stored, if nobody took the next one
 * meanwhile; otherwise the next message keeps naming an id that history does not have (the
 * README's protocol section says how a client reads that).
 */
export async function releaseLink(room: string, link: Link): Promise<void> {
  try {
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: config.MESSAGES_TABLE,
        Key: headKey(room),
        UpdateExpression: link.prevId === undefined ? 'REMOVE lastId' : 'SET lastId = :prevId',
        ConditionExpression: 'lastId = :id',
        ExpressionAttributeValues: { ':id': { S: link.id }, ...(link.prevId !== undefined && { ':prevId': { S: link.prevId } }) },
      }),
    );
  } catch (error: unknown) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}
