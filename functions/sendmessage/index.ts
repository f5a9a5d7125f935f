import {
  MetricUnit,
  config,
  fanOut,
  logger,
  metrics,
  parseSendMessage,
  recordMessageSent,
  saveMessage,
  websocketHandler,
} from 'chat-core';

/**
 * sendmessage: stores the message, then posts it to every connection in the
 * sender's room. Plain (tutorial) senders don't get their own text back; chat.v1
 * senders do, as the confirmation that it was stored. Rooms above the fan-out
 * threshold are handed to the fan-out queue in shards.
 */
export const handler = websocketHandler(async (event) => {
  const { connectionId } = event.requestContext;
  // Every frame counts against the rate limit, valid or not: a flood of bad frames is a flood too.
  const sender = await recordMessageSent(connectionId);
  const text = parseSendMessage(event.body, config.MAX_MESSAGE_BYTES);

  // The room is read while the message is stored; posting waits for the write.
  const stored = saveMessage({ room: sender.room, name: sender.name, text, connectionId });
  const result = await fanOut(sender.room, stored.then((message) => ({ type: 'message', ...message }) as const), {
    skip: (recipient) => recipient.connectionId === connectionId && recipient.protocol === 'plain',
  });
  const message = await stored;
  metrics.addMetric('Messages', MetricUnit.Count, 1);
  logger.info('message sent', { messageId: message.id, room: sender.room, ...result });
});
