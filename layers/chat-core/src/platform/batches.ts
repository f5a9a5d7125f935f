/**
 * The one retry of the layer's batch calls: DynamoDB's BatchWriteItem and SQS's
 * SendMessageBatch may accept part of a batch and hand the rest back (UnprocessedItems,
 * Failed), which the SDK does not retry. `sendAll` sends what is left again, after a growing
 * wait (100, 200, 400, 800 ms), at most `attempts` times in all, and throws if some remain.
 */
export const BATCH_ATTEMPTS = 5;

export interface SendAllOptions<T> {
  attempts?: number;
  /** Told before each retry (for a log line). */
  onRetry?: (left: readonly T[], attempt: number) => void;
  /** The error when some are still left after the last attempt. */
  failure: (left: readonly T[]) => Error;
}

/** Sends `items` with `send`, which answers the items the service did not take. */
export async function sendAll<T>(items: readonly T[], send: (items: T[]) => Promise<T[]>, options: SendAllOptions<T>): Promise<void> {
  const attempts = options.attempts ?? BATCH_ATTEMPTS;
  let left = [...items];
  for (let attempt = 1; left.length > 0; attempt += 1) {
    left = await send(left);
    if (left.length === 0) return;
    if (attempt >= attempts) throw options.failure(left);
    options.onRetry?.(left, attempt);
    await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
  }
}
