import { parseMembers, reply, requireConnection, roomConnections, websocketHandler } from 'chat-core';

/** A members frame stays well below API Gateway's 128 KB post limit. */
const MAX_MEMBERS = 2000;

/** members: the names connected to the caller's room (each name once). */
export const handler = websocketHandler(async (event) => {
  const caller = await requireConnection(event.requestContext.connectionId);
  parseMembers(event.body);
  const names = new Set<string>();
  for await (const page of roomConnections(caller.room)) {
    for (const connection of page) {
      if (names.size < MAX_MEMBERS) names.add(connection.name);
    }
  }
  await reply(caller, { type: 'members', room: caller.room, members: [...names].map((name) => ({ name })) });
});
