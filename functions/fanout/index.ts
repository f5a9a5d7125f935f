import type { SQSBatchResponse, SQSEvent, Context } from 'aws-lambda';
import { type Recipient, broadcast, logger, metrics, parseShard, redeliver, shardRecipients, tracer } from 'chat-core';

/**
 * Fan-out for large rooms: each SQS message is a shard (one frame, up to
 * FANOUT_SHARD_SIZE recipients) that sendmessage queued. Shards are independent,
 * so a room of 100,000 is served by many invocations at once. A shard that cannot
 * be processed is reported back (partial batch response) and retried, then
 * dead-lettered. Recipients whose posts fail (not 410 Gone) are queued again for a
 * later redelivery (chat-core redelivery.ts), as are those of any broadcast; the
 * queue also brings those redeliveries here.
 */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  tracer.annotateColdStart();
  metrics.captureColdStartMetric();
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  try {
    for (const record of event.Records) {
      try {
        const shard = parseShard(record.body);
        const failed: Recipient[] = [];
        const result = await broadcast([shardRecipients(shard)], shard.frame, { onFailure: (r) => failed.push(r) });
        await redeliver(shard.frame, failed, shard.redelivery ?? 0);
        logger.info('shard delivered', { messageId: record.messageId, redelivery: shard.redelivery, ...result });
      } catch (error: unknown) {
        logger.error('shard failed', { messageId: record.messageId, error: error as Error });
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
  } finally {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
  return { batchItemFailures };
};
