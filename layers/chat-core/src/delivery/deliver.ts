import type { Recipient } from '../connections/connections';
import { logger } from '../platform/observability';
import type { Frame } from '../wire/wire';
import { confirmationFrame } from './confirmation';
import { type FanOutResult, type TimeBudget, confirmationQueued, fanOut } from './fanout';
import { redeliver, replyOrRedeliver } from './redelivery';
import type { ConfirmTo } from './shards';

/**
 * The one way the chat hands a frame to a room, for a person's message (sendmessage), a
 * backend's (publish) and a moderator's notice (a deletion):
 *
 * - rooms up to FANOUT_THRESHOLD are posted to here, for as long as the invocation's time
 *   allows; whoever is left then, and every recipient of a larger room, goes to the fan-out
 *   queue in shards (fanout.ts, shards.ts);
 * - posts that fail for good are redelivered through the queue after a while (redelivery.ts);
 * - a chat.v1 sender is confirmed once everyone has the frame: here, or by the last shard
 *   served (confirmation.ts), so that a sender who waits for each confirmation has its messages
 *   arrive in order everywhere. A repeat (a clientId stored before) posts nothing and is
 *   confirmed with the original.
 *
 * A message is stored before anyone gets it: given the store's promise, the room is read while
 * it is written, and nothing is posted before it resolves. Once stored, nothing here fails the
 * caller (what fails is logged and redelivered, and members who still miss it see the gap in
 * the next message's `prevId`); not stored, nothing is delivered and the caller answers with
 * the store's error.
 */

/** A frame to deliver; `repeat`: stored before (a clientId seen again), so nothing new is posted. */
export interface Stored {
  frame: Frame;
  repeat: boolean;
}

/** The connection a frame comes from: left out of it, and confirmed when it speaks chat.v1. */
export type Sender = Recipient & { clientId?: string };

export interface DeliveryOptions {
  from?: Sender;
  /** The invocation: posting stops in time to queue what is left, confirm and return before its timeout. */
  budget?: TimeBudget;
}

/** What a delivery did (FanOutResult, or `failed`: the fan-out itself failed, logged), and the recipients to be redelivered. */
export type Delivered = (FanOutResult | { mode: 'failed' }) & { redelivered: number };

/** Delivers `stored` (a frame, or the promise of its being stored) to everyone in `room`. */
export async function deliver(
  room: string,
  stored: Stored | PromiseLike<Stored>,
  { from, budget }: DeliveryOptions = {},
): Promise<Delivered> {
  const failed: Recipient[] = [];
  const confirm: ConfirmTo | undefined =
    from?.protocol === 'chat.v1'
      ? { connectionId: from.connectionId, protocol: from.protocol, ...(from.clientId !== undefined && { clientId: from.clientId }) }
      : undefined;
  const ready = Promise.resolve(stored);
  const fannedOut = fanOut(
    room,
    ready.then(({ frame, repeat }) => (repeat ? undefined : frame)),
    {
      ...(from && { skip: (recipient: Recipient) => recipient.connectionId === from.connectionId }),
      ...(budget && { budget }),
      onFailure: (recipient) => failed.push(recipient),
      ...(confirm && { confirm }),
    },
  ).catch((error: unknown): { mode: 'failed' } => {
    logger.error('fan-out failed', { error: error as Error });
    return { mode: 'failed' };
  });
  let frame: Frame;
  try {
    ({ frame } = await ready);
  } catch {
    await fannedOut; // nothing was posted; the caller answers with the store's error
    return { mode: 'failed', redelivered: 0 };
  }
  const result = await fannedOut;
  await redeliver(frame, failed);
  // Shards queued: the last one served confirms. Otherwise (all posted here, a repeat, or a
  // fan-out that failed once the frame was stored) the confirmation goes now.
  if (from && confirm && !confirmationQueued(result)) await replyOrRedeliver(from, confirmationFrame(frame, confirm));
  return { ...result, redelivered: failed.length };
}
