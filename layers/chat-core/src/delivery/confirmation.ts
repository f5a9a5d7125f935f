import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { dynamodb } from '../platform/aws';
import { config } from '../platform/config';
import type { ChatMessage, Frame } from '../wire/wire';
import { logger } from '../platform/observability';
import { replyOrRedeliver } from './redelivery';
import type { ConfirmTo } from './shards';

/**
 * A chat.v1 sender is confirmed once its message has been handed to everyone in the room. When
 * some of the room is served through the fan-out queue (a large room, or recipients a direct
 * fan-out had no time for), that is when the last of the message's shards has been served, not
 * when they were queued: so a paced sender (one that waits for each confirmation) never has its
 * next message overtake this one at any recipient.
 *
 * The shards of one message are counted in an item of the connections table, `confirm#<id>`
 * (no `room` attribute, so the room index never sees it; TTL an hour). Whoever queues shards
 * adds each batch of them before sending it, plus one of its own that it takes away once all
 * are queued (so the count cannot reach zero before then); each shard served takes one away
 * (a shard put back on the queue in smaller shards counts them first). The write that brings
 * the count to zero posts the confirmation.
 *
 * If an invocation dies between counting and queueing, the count never reaches zero and the
 * sender gets no confirmation: the chat page then sends again with the same clientId, which is
 * confirmed at once (a repeat stores and posts nothing).
 */
export type { ConfirmTo };

/** How long a count is kept: far longer than any message takes to be served. */
const COUNT_TTL_SECONDS = 3600;

const COUNT_KEY_PREFIX = 'confirm#';

/** The sender's confirmation of a message frame: the message, with the clientId it was sent with. */
export function confirmationFrame(frame: Frame, confirm: ConfirmTo): Frame {
  return confirm.clientId === undefined || frame.type !== 'message' ? frame : { ...frame, clientId: confirm.clientId };
}

/**
 * Changes the count of a message's shards still to serve by `change`; the change that brings it
 * to zero posts the sender's confirmation (or redelivers it, as any confirmation).
 */
export async function countShards(frame: Frame, confirm: ConfirmTo, change: number, now = Date.now()): Promise<void> {
  if (change === 0) return;
  const messageId = (frame as Partial<ChatMessage>).id ?? '';
  const { Attributes } = await dynamodb.send(
    new UpdateItemCommand({
      TableName: config.CONNECTIONS_TABLE,
      Key: { connectionId: { S: `${COUNT_KEY_PREFIX}${messageId}` } },
      UpdateExpression: 'ADD shardsLeft :change SET expiresAt = :expiresAt',
      ExpressionAttributeValues: {
        ':change': { N: String(change) },
        ':expiresAt': { N: String(Math.floor(now / 1000) + COUNT_TTL_SECONDS) },
      },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  if (Number(Attributes?.shardsLeft?.N) !== 0) return;
  logger.info('every shard served: confirming to the sender', { messageId, connectionId: confirm.connectionId });
  await replyOrRedeliver(confirm, confirmationFrame(frame, confirm));
}
