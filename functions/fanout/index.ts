import type { SQSBatchResponse, SQSEvent, Context } from 'aws-lambda';
import { type Recipient, consumeQueue, flushPresence, instrumented, logger, parseQueueMessage, redeliver, serveShard } from 'chat-core';

/**
 * The fan-out queue's consumer, two kinds of message:
 *
 * - a shard (one frame, up to FANOUT_SHARD_SIZE recipients), queued by sendmessage for a
 *   large room, or for the recipients a direct fan-out had no time left for, or for a
 *   redelivery of posts that failed (redelivery.ts: delayed, marked `redelivery`). Shards are
 *   independent, so a room of 100,000 is served by many invocations at once. Posting stops
 *   in time to queue the recipients not reached as a new shard, and the message is then
 *   done: a redelivery would repeat posts already made, this repeats none. Recipients whose
 *   posts fail (not 410 Gone) are queued again for a later redelivery, a bounded number of
 *   times (REDELIVERY_DELAYS_SECONDS).
 * - a room's presence notices falling due (presence.ts): they go out in one frame.
 *
 * A message that cannot be processed is reported back (partial batch response, through
 * Powertools batch processing: chat-core consumeQueue) and retried, then dead-lettered.
 * At-least-once remains in one window: an invocation that dies outright (out of memory, a
 * crash) or cannot queue its leftovers has its whole shard redelivered, and its recipients
 * already reached get the frame again (chat.v1 clients drop it by id; plain ones cannot tell).
 */
export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  instrumented(context, 'fanout', () =>
    consumeQueue(event, context, async (record) => {
      const message = parseQueueMessage(record.body);
      if (message.kind === 'presence') {
        const result = await flushPresence(message.room, message.token, context);
        logger.info('presence sent', { messageId: record.messageId, room: message.room, ...result });
        return;
      }
      const { shard } = message;
      const failed: Recipient[] = [];
      const result = await serveShard(shard, context, (recipient) => failed.push(recipient));
      await redeliver(shard.frame, failed, shard.redelivery ?? 0);
      logger.info('shard delivered', {
        messageId: record.messageId,
        redelivery: shard.redelivery,
        ...result,
        redelivered: failed.length,
      });
    }),
  );
