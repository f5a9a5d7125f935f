import {
  type ChatMessage,
  type ConfirmTo,
  type FanOutResult,
  type Frame,
  MetricUnit,
  type Recipient,
  type SendMessageRequest,
  cancelReservation,
  config,
  confirmationFrame,
  confirmationQueued,
  fanOut,
  knownSenderRoom,
  limitMessage,
  logger,
  metrics,
  parseSendMessage,
  recordMessageSent,
  redeliver,
  rememberSenderRoom,
  replyOrRedeliver,
  reservePlace,
  saveMessage,
  websocketHandler,
} from 'chat-core';

/**
 * sendmessage: stores the message, then posts it to every other connection in the
 * sender's room. A chat.v1 sender then gets its own message back: its confirmation
 * that the message was stored and handed to everyone. Sent after the room's posts
 * (retries included) have settled, it also keeps one sender's messages in order for
 * everyone, as long as the sender waits for each confirmation. Plain (tutorial)
 * senders get no echo. Rooms above the fan-out threshold are handed to the fan-out
 * queue in shards; so are the recipients of a smaller room that the function's time
 * does not reach (the Management API being slow). Then the last shard served confirms
 * (confirmation.ts), so the order holds there too.
 *
 * With a `clientId`, a repeat of a send already stored stores nothing and posts nothing:
 * the sender is confirmed with the original message. Once the message is stored, nothing
 * fails the request: posts that fail (the sender's confirmation included) are redelivered
 * through the fan-out queue, and members that still miss it see the gap in `prevId`.
 */
export const handler = websocketHandler(async (event, context) => {
  const { connectionId } = event.requestContext;
  const request = parsed(event.body);
  // A sender this sandbox served before: its room is known, so its message's place in the room
  // is taken while the sender is checked (and given back if it is refused).
  const knownRoom = request instanceof Error ? undefined : knownSenderRoom(connectionId);
  const reserved = knownRoom === undefined ? undefined : reservePlace(knownRoom);
  // Every frame counts against the rate limits, valid or not: a flood of bad frames is a flood
  // too. The connection's own, and its identity's (or source IP's) over all its connections.
  const sender = await Promise.all([recordMessageSent(connectionId), limitMessage(event.requestContext)]).then(
    ([checked]) => checked,
    async (error: unknown) => {
      if (reserved) await cancelReservation(reserved);
      throw error;
    },
  );
  if (request instanceof Error) throw request;
  const { text, clientId } = request;

  const { room, name, userId } = sender;
  rememberSenderRoom(connectionId, room);
  const saved = saveMessage(
    { room, name, text, connectionId, ...(userId !== undefined && { userId }) },
    { ...(clientId !== undefined && { clientId }), ...(reserved && { reserved }) },
  );
  // The room is read while the message is stored; posting waits for the write. Recipients the
  // function's time does not reach are handed to the queue (fanout.ts); failed posts come back
  // in `failed`, for a redelivery.
  const failed: Recipient[] = [];
  const confirm: ConfirmTo | undefined =
    sender.protocol === 'chat.v1' ? { connectionId, protocol: sender.protocol, ...(clientId !== undefined && { clientId }) } : undefined;
  const delivery: Promise<FanOutResult | { mode: 'failed' }> = fanOut(
    room,
    saved.then(({ message, repeat }) => (repeat ? undefined : messageFrame(message))),
    {
      skip: (recipient) => recipient.connectionId === connectionId,
      budget: context,
      onFailure: (recipient) => failed.push(recipient),
      ...(confirm && { confirm }),
    },
  ).catch((error: unknown) => {
    logger.error('fan-out failed', { error: error as Error });
    return { mode: 'failed' };
  });
  const { message, repeat } = await saved; // not stored: that error is the client's answer
  const result = await delivery;
  if (!repeat) metrics.addMetric('Messages', MetricUnit.Count, 1);
  await redeliver(messageFrame(message), failed);
  // Shards queued: the last one served confirms. Otherwise (all posted here, a repeat, or a
  // fan-out that failed once the message was stored) the confirmation goes now.
  if (confirm && !confirmationQueued(result)) await replyOrRedeliver(sender, confirmationFrame(messageFrame(message), confirm));
  logger.info(repeat ? 'repeated send confirmed' : 'message sent', { messageId: message.id, room, ...result, redelivered: failed.length });
});

const messageFrame = (message: ChatMessage): Frame => ({ type: 'message', ...message });

/** The frame's request, or why it is refused (thrown once the frame has been counted). */
function parsed(body: string | null | undefined): SendMessageRequest | Error {
  try {
    return parseSendMessage(body, config.MAX_MESSAGE_BYTES);
  } catch (error: unknown) {
    return error instanceof Error ? error : new Error(String(error));
  }
}
