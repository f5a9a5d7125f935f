import {
  announce,
  header,
  negotiateProtocol,
  parseName,
  parseRoom,
  saveConnection,
  websocketHandler,
} from 'chat-core';

/**
 * $connect: validates the room, name and subprotocol the client asked for, stores
 * the connection (the tutorial's "store the connection id"), and tells the room's
 * chat.v1 clients who joined (rooms above the fan-out threshold go without
 * presence). Anything invalid refuses the connection with 400.
 */
export const handler = websocketHandler(async (event) => {
  const { connectionId } = event.requestContext;
  const query = event.queryStringParameters ?? {};
  const protocol = negotiateProtocol(header(event, 'Sec-WebSocket-Protocol'));
  const room = parseRoom(query.room);
  const name = parseName(query.name, connectionId);

  await saveConnection({ connectionId, room, name, protocol });
  await announce(room, { type: 'presence', event: 'join', room, name }, {
    skip: (recipient) => recipient.connectionId === connectionId,
  });
  return protocol === 'chat.v1'
    ? { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': protocol } }
    : { statusCode: 200 };
});
