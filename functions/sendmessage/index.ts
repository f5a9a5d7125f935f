import {
  type ChatMessage,
  type Frame,
  MetricUnit,
  type SendMessageRequest,
  cancelReservation,
  config,
  deliver,
  knownSender,
  limitMessage,
  logger,
  metrics,
  parseSendMessage,
  recordMessageSent,
  rememberSender,
  reservePlace,
  saveMessage,
  websocketHandler,
} from 'chat-core';

/**
 * sendmessage: checks the sender against the rate limits, stores the message, and delivers it
 * to every other connection in the sender's room (chat-core's deliver(): directly or through
 * the fan-out queue, redelivered where posts fail). A chat.v1 sender then gets its own message
 * back: its confirmation that the message was stored and handed to everyone, which keeps one
 * sender's messages in order for everyone, as long as the sender waits for each confirmation.
 * Plain (tutorial) senders get no echo.
 *
 * With a `clientId`, a repeat of a send already stored stores nothing and posts nothing:
 * the sender is confirmed with the original message. Once the message is stored, nothing
 * fails the request.
 */
export const handler = websocketHandler(async (event, context) => {
  const { connectionId } = event.requestContext;
  const request = parsed(event.body);
  const reserved = reserveAhead(connectionId, request);
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
  rememberSender(connectionId, { room, ...(userId !== undefined && { userId }) });
  const saved = saveMessage(
    { room, name, text, connectionId, ...(userId !== undefined && { userId }) },
    { ...(clientId !== undefined && { clientId }), ...(reserved && { reserved }) },
  );
  // The room is read while the message is stored; posting waits for the write.
  const delivered = deliver(
    room,
    saved.then(({ message, repeat }) => ({ frame: messageFrame(message), repeat })),
    { from: { ...sender, ...(clientId !== undefined && { clientId }) }, budget: context },
  );
  const { message, repeat } = await saved; // not stored: that error is the client's answer
  const result = await delivered;
  if (!repeat) metrics.addMetric('Messages', MetricUnit.Count, 1);
  logger.info(repeat ? 'repeated send confirmed' : 'message sent', { messageId: message.id, room, ...result });
});

/**
 * A sender this sandbox served before: its room is known, so its message's place in the room is
 * taken (and its clientId looked up) while the sender is checked, and given back if it is refused.
 */
function reserveAhead(connectionId: string, request: SendMessageRequest | Error): ReturnType<typeof reservePlace> | undefined {
  if (request instanceof Error) return undefined;
  const known = knownSender(connectionId);
  if (known === undefined) return undefined;
  const sender = { connectionId, ...(known.userId !== undefined && { userId: known.userId }) };
  return reservePlace(known.room, { sender, ...(request.clientId !== undefined && { clientId: request.clientId }) });
}

const messageFrame = (message: ChatMessage): Frame => ({ type: 'message', ...message });

/** The frame's request, or why it is refused (thrown once the frame has been counted). */
function parsed(body: string | null | undefined): SendMessageRequest | Error {
  try {
    return parseSendMessage(body, config.MAX_MESSAGE_BYTES);
  } catch (error: unknown) {
    return error instanceof Error ? error : new Error(String(error));
  }
}
