import {
  ChatError,
  activeBan,
  banNotice,
  decodeIdentity,
  config,
  header,
  limitConnect,
  mayJoin,
  nameFromToken,
  negotiateProtocol,
  notePresence,
  parseName,
  parseRoom,
  roomIsFull,
  saveConnection,
  websocketHandler,
} from 'chat-core';

/**
 * $connect: validates the room, name and subprotocol the client asked for, stores
 * the connection (the tutorial's "store the connection id"), and notes the join for
 * the room's chat.v1 clients (presence.ts: coalesced per room, rooms above the
 * fan-out threshold go without). Anything invalid refuses the connection with 400.
 *
 * When the stack authenticates (AuthMode), the authorizer's identity decides instead
 * of the query string: the name is the token's (`?name=` is ignored), a room the token
 * does not list is refused with 403, and the connection keeps the user id.
 *
 * Valid requests are then counted against their identity, or source IP when anonymous
 * (CONNECT_RATE_LIMIT, 429 past it: a client reconnecting in a loop cannot flood a room with
 * presence), and a room with MAX_ROOM_SIZE connections takes no more (403, room_full). A
 * signed-in person a moderator banned from the room is refused with 403 (banned) until the ban
 * ends or is lifted (moderation.ts).
 */
export const handler = websocketHandler(async (event, context) => {
  const { connectionId, authorizer } = event.requestContext;
  const query = event.queryStringParameters ?? {};
  const protocol = negotiateProtocol(header(event, 'Sec-WebSocket-Protocol'));
  const room = parseRoom(query.room);
  const identity = decodeIdentity(authorizer);
  if (identity && !mayJoin(identity, room)) {
    throw new ChatError('room_not_allowed', `your sign-in does not allow room ${room}`);
  }
  const name = identity ? nameFromToken(identity.name) : parseName(query.name);
  const userId = identity?.userId;
  await limitConnect(event.requestContext);
  const ban = userId === undefined ? undefined : await activeBan(room, userId);
  if (ban) throw new ChatError('banned', banNotice(room, ban.until));
  if (await roomIsFull(room, config.MAX_ROOM_SIZE)) {
    throw new ChatError('room_full', `room ${room} is full (${config.MAX_ROOM_SIZE} connections); try again later`);
  }

  await saveConnection({ connectionId, room, name, protocol, ...(userId !== undefined && { userId }) });
  await notePresence(room, { event: 'join', name, ...(userId !== undefined && { userId }) }, { connectionId, protocol }, context);
  return protocol === 'chat.v1' ? { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': protocol } } : { statusCode: 200 };
});
