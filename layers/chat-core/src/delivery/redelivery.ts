import { reply } from './broadcast';
import { config } from '../platform/config';
import type { Recipient } from '../connections/connections';
import { enqueueShards } from './shards';
import { ManagementTimeoutError } from '../platform/management';
import { logger } from '../platform/observability';
import type { Frame } from '../wire/protocol';

/**
 * Posts that fail for good (throttled past the SDK's retries, a server error; not 410 Gone, and
 * not a timeout, which may have arrived: broadcast.ts) are retried later rather than only counted: their recipients go to the fan-out queue as
 * a shard that waits a while (SQS DelaySeconds), and FanoutFunction posts the frame to them
 * again; what fails there is queued again, after a longer wait, until these delays run out. A
 * client that recovered the message meanwhile (from `history`, after seeing the gap in
 * `prevId`) drops the late copy by id.
 */
export const REDELIVERY_DELAYS_SECONDS: readonly number[] = [2, 10, 30];

/**
 * Queues a frame's redelivery to recipients whose posts failed, `done` redeliveries after the
 * first delivery. False when it was not queued: no queue, the delays ran out, or SQS failed
 * (logged; the message is stored, so `history` still has it).
 */
export async function redeliver(frame: Frame, recipients: readonly Recipient[], done = 0): Promise<boolean> {
  if (recipients.length === 0) return true;
  const queueUrl = config.FANOUT_QUEUE_URL;
  const delaySeconds = REDELIVERY_DELAYS_SECONDS[done];
  if (queueUrl === undefined || delaySeconds === undefined) {
    logger.warn('delivery given up', { recipients: recipients.length, redeliveries: done });
    return false;
  }
  try {
    // A shard like any other (shards.ts), marked with its redelivery and held back by SQS.
    await enqueueShards(frame, recipients, queueUrl, { redelivery: done + 1, delaySeconds });
    logger.info('redelivery queued', { recipients: recipients.length, redelivery: done + 1, delaySeconds });
    return true;
  } catch (error: unknown) {
    logger.error('could not queue a redelivery', { recipients: recipients.length, error: error as Error });
    return false;
  }
}

/**
 * Sends one frame to one connection, never failing the caller on the Management API's account:
 * a post that fails for good (not 410 Gone) is redelivered through the queue (where the function
 * has it, FANOUT_QUEUE_URL; elsewhere the failure is logged), and one that times out may have
 * arrived, so it is logged and not sent again. For every answer to a client (a
 * sender's confirmation, `info`, `history`, `members`, an error): the request was served, so it
 * must not end in "Internal server error" because the answer's post was slow or throttled.
 */
export async function replyOrRedeliver(to: Recipient, frame: Frame): Promise<void> {
  try {
    await reply(to, frame);
  } catch (error: unknown) {
    if (error instanceof ManagementTimeoutError) {
      logger.warn('reply timed out; it may have arrived, not sent again', { connectionId: to.connectionId });
      return;
    }
    logger.warn('reply failed; redelivering it', { connectionId: to.connectionId, error: error as Error });
    await redeliver(frame, [to]);
  }
}
