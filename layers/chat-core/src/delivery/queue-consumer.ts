/**
 * The queue consumer's batch handling, with Powertools batch processing: each record of an SQS
 * batch is handled on its own, one after the other, and those that throw are reported back in
 * the partial batch response (the event source mapping's ReportBatchItemFailures), so that SQS
 * retries them alone, then dead-letters them; the others are done.
 *
 * A batch whose every record failed is answered the same way rather than thrown: the records
 * are retried all the same, and the function's Errors metric (an alarm) keeps meaning that an
 * invocation itself failed.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { logger } from '../platform/observability';

const processor = new BatchProcessor(EventType.SQS);

export async function consumeQueue(
  event: SQSEvent,
  context: Context,
  handleRecord: (record: SQSRecord) => Promise<void>,
): Promise<SQSBatchResponse> {
  const handleLogged = async (record: SQSRecord): Promise<void> => {
    try {
      await handleRecord(record);
    } catch (error: unknown) {
      logger.error('queue message failed', { messageId: record.messageId, error: error as Error });
      throw error;
    }
  };
  return processPartialResponse(event, handleLogged, processor, {
    context,
    processInParallel: false,
    throwOnFullBatchFailure: false,
  });
}
