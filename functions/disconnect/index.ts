import { deleteConnection, announce, websocketHandler } from 'chat-core';

/**
 * $disconnect: removes the connection (whoever closed it) and tells the room's
 * chat.v1 clients who left.
 */
export const handler = websocketHandler(async (event) => {
  const left = await deleteConnection(event.requestContext.connectionId);
  if (left) {
    const { room, name, userId } = left;
    await announce(room, { type: 'presence', event: 'leave', room, name, ...(userId !== undefined && { userId }) });
  }
});
