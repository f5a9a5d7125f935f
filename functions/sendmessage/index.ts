import {
  MetricUnit,
  config,
  fanOut,
  limitMessage,
  logger,
  metrics,
  parseSendMessage,
  recordMessageSent,
  reply,
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
 * queue in shards, and confirmed once queued.
 */
export const handler = websocketHandler(async (event) => {
  const { connectionId } = event.requestContext;
  // Every frame counts against the rate limits, valid or not: a flood of bad frames is a flood
  // too. The connection's own, and its identity's (or source IP's) over all its connections.
  const [sender] = await Promise.all([
    recordMessageSent(connectionId),
    limitMessage(event.requestContext),
  ]);
  const text = parseSendMessage(event.body, config.MAX_MESSAGE_BYTES);

  // The room is read while the message is stored; posting waits for the write.
  const { room, name, userId } = sender;
  const stored = saveMessage({ room, name, text, connectionId, ...(userId !== undefined && { userId }) });
  const result = await fanOut(sender.room, stored.then((message) => ({ type: 'message', ...message }) as const), {
    skip: (recipient) => recipient.connectionId === connectionId,
  });
  const message = await stored;
  metrics.addMetric('Messages', MetricUnit.Count, 1);
  if (sender.protocol === 'chat.v1') await reply(sender, { type: 'message', ...message });
  logger.info('message sent', { messageId: message.id, room: sender.room, ...result });
});
