import { config } from '../platform/config';
import { deleteConnections, type Recipient } from '../connections/connections';
import { isGone } from '../wire/errors';
import { ManagementTimeoutError, postToConnection } from '../platform/management';
import { logger, metrics, MetricUnit } from '../platform/observability';
import { type Frame, type Protocol, encodeFrame } from '../wire/protocol';

/**
 * API Gateway answers 410 for a connection whose $connect has not finished yet,
 * so a connection stored moments ago is not deleted for it: that would unregister
 * a client that is just joining. If it really is gone, $disconnect, a later
 * broadcast or the TTL removes it.
 */
export const CONNECT_GRACE_MS = 30_000;

function stillConnecting(recipient: Recipient, now = Date.now()): boolean {
  return recipient.connectedAt !== undefined && now - recipient.connectedAt < CONNECT_GRACE_MS;
}

/** Frames serialized once per protocol, not once per recipient. */
export class EncodedFrame {
  private readonly encoded = new Map<Protocol, Uint8Array | undefined>();
  constructor(readonly frame: Frame) {}

  for(protocol: Protocol): Uint8Array | undefined {
    if (!this.encoded.has(protocol)) {
      const text = encodeFrame(this.frame, protocol);
      this.encoded.set(protocol, text === undefined ? undefined : Buffer.from(text, 'utf8'));
    }
    return this.encoded.get(protocol);
  }
}

/** Lanes of a broadcast started in one turn of the event loop (see broadcast). */
export const LANES_PER_TURN = 10;

export interface BroadcastOptions {
  /** Recipients for whom this returns true are left out (for example the sender). */
  skip?: (recipient: Recipient) => boolean;
  concurrency?: number;
  /**
   * Told of each recipient whose post failed for good, so it did not arrive: not 410 Gone, and
   * not a post that timed out, which may have arrived (see redelivery.ts).
   */
  onFailure?: (recipient: Recipient) => void;
  /**
   * Epoch milliseconds by which every post must have settled (the invocation's time, less
   * what the caller needs afterwards). A post is started only if its whole POST_TIMEOUT_MS
   * fits before it; the recipients not started come back in `unsent`, for the caller to
   * hand on. No deadline: every recipient is attempted.
   */
  deadline?: number;
}

export interface BroadcastResult {
  /** Recipients a post was attempted to. */
  attempted: number;
  delivered: number;
  /** Connections that answered 410 Gone; removed from the table. */
  gone: number;
  failed: number;
  /** Recipients not attempted because the deadline came: nobody posted to them. */
  unsent: Recipient[];
}

/**
 * Sends a frame to every recipient, page after page as they are read, with at most
 * `concurrency` posts in flight. A connection that is gone is deleted (in
 * batches, afterwards); any other failure is counted and logged and the rest go on.
 */
export async function broadcast(
  recipients: AsyncIterable<Recipient[]> | Iterable<Recipient[]>,
  frame: Frame,
  { skip, concurrency = config.FANOUT_CONCURRENCY, onFailure, deadline }: BroadcastOptions = {},
): Promise<BroadcastResult> {
  const encoded = new EncodedFrame(frame);
  const result: BroadcastResult = { attempted: 0, delivered: 0, gone: 0, failed: 0, unsent: [] };
  // Started posts always get their full timeout, so a recipient is either attempted once
  // here or left to the caller, never both.
  const timeUp = (): boolean => deadline !== undefined && Date.now() + config.POST_TIMEOUT_MS > deadline;
  const gone: string[] = [];

  const deliver = async (recipient: Recipient, data: Uint8Array): Promise<void> => {
    try {
      await postToConnection(recipient.connectionId, data);
      result.delivered += 1;
    } catch (error: unknown) {
      if (isGone(error) && !stillConnecting(recipient)) {
        gone.push(recipient.connectionId);
      } else if (error instanceof ManagementTimeoutError) {
        // It may have arrived (API Gateway may have taken it): sending it again could show it
        // twice, to plain clients too, who cannot tell. A chat.v1 client that missed it sees the gap.
        result.failed += 1;
        logger.warn('post to connection timed out; not redelivered', { recipient: recipient.connectionId });
      } else {
        result.failed += 1;
        logger.warn('post to connection failed', { recipient: recipient.connectionId, error: error as Error });
        onFailure?.(recipient);
      }
    }
  };

  // `concurrency` lanes take the recipients one by one from a single iterator, in order, each
  // posting one at a time: as many in flight as lanes, pages read as the lanes get to them.
  // (A loop that awaits Promise.race over the posts in flight costs a reaction per post in
  // flight for every post started: some 20 µs a post at 100 in flight.)
  const pending = postable(recipients, encoded, skip);
  let drained = false;
  const lane = async (): Promise<void> => {
    for (let next = await pending.next(); ; next = await pending.next()) {
      if (next.done) {
        drained = true;
        return;
      }
      const [recipient, data] = next.value;
      if (result.unsent.length > 0 || timeUp()) {
        result.unsent.push(recipient);
        continue;
      }
      result.attempted += 1;
      await deliver(recipient, data);
    }
  };
  // The lanes start LANES_PER_TURN at a time, a turn of the event loop apart: lanes started
  // together prepare their posts step by step together, so that none is sent before all are
  // nearly ready (100 at once: the first post left ~9 ms after the first call, here). Started a
  // few at a time, the first posts are on their way while the next are prepared, and the
  // other end (API Gateway; locally the runtime's main thread) starts on them at once.
  const lanes: Promise<void>[] = [];
  for (let i = 0; i < Math.max(1, concurrency) && !drained; i += 1) {
    if (i > 0 && i % LANES_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
    const started = lane();
    started.catch(() => undefined); // awaited below, with the others
    lanes.push(started);
  }
  await Promise.all(lanes);

  result.gone = gone.length;
  if (gone.length > 0) {
    try {
      await deleteConnections(gone);
    } catch (error: unknown) {
      logger.error('could not remove stale connections', { count: gone.length, error: error as Error });
    }
  }
  metrics.addMetric('Deliveries', MetricUnit.Count, result.delivered);
  metrics.addMetric('DeliveryFailures', MetricUnit.Count, result.failed);
  metrics.addMetric('StaleConnectionsRemoved', MetricUnit.Count, result.gone);
  return result;
}

/** The recipients to post to, in order, each with the frame in its protocol (none for those `skip` leaves out). */
async function* postable(
  recipients: AsyncIterable<Recipient[]> | Iterable<Recipient[]>,
  encoded: EncodedFrame,
  skip: ((recipient: Recipient) => boolean) | undefined,
): AsyncGenerator<[Recipient, Uint8Array]> {
  for await (const page of recipients) {
    for (const recipient of page) {
      if (skip?.(recipient)) continue;
      const data = encoded.for(recipient.protocol);
      if (data !== undefined) yield [recipient, data];
    }
  }
}

/** Sends one frame to one connection, in the protocol it chose: false when the caller is gone (not an error). */
export async function reply(to: { connectionId: string; protocol: Protocol }, frame: Frame): Promise<boolean> {
  const text = encodeFrame(frame, to.protocol);
  if (text === undefined) return true;
  try {
    await postToConnection(to.connectionId, Buffer.from(text, 'utf8'));
    return true;
  } catch (error: unknown) {
    if (!isGone(error)) throw error;
    logger.info('caller left before the reply', { connectionId: to.connectionId });
    return false;
  }
}
