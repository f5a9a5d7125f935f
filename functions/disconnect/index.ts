import { deleteConnection, notePresence, websocketHandler } from 'chat-core';

/**
 * $disconnect: removes the connection (whoever closed it) and notes the leave for the
 * room's chat.v1 clients (presence.ts: coalesced per room).
 */
export const handler = websocketHandler(async (event, context) => {
  const left = await deleteConnection(event.requestContext.connectionId);
  if (left) {
    const { room, name, userId } = left;
    await notePresence(room, { event: 'leave', name, ...(userId !== undefined && { userId }) }, left, context);
  }
});
