import { membersPage, parseMembers, reply, requireConnection, websocketHandler } from 'chat-core';

/**
 * members: who is connected to the caller's room, a page at a time (each well within API
 * Gateway's limits); `hasMore` and `next` say where the following page starts:
 * `{"action":"members","after":"<next>"}`.
 */
export const handler = websocketHandler(async (event) => {
  const caller = await requireConnection(event.requestContext.connectionId);
  const { after } = parseMembers(event.body);
  await reply(caller, await membersPage(caller.room, after));
});
