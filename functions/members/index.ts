import { limitRequest, membersPage, parseMembers, recordRequest, registered, replyOrRedeliver, websocketHandler } from 'chat-core';

/**
 * members: who is connected to the caller's room, a page at a time (each well within API
 * Gateway's limits); `hasMore` and `next` say where the following page starts:
 * `{"action":"members","after":"<next>"}`. Each request counts against the request rate
 * limits (per connection, and per identity or source IP).
 */
export const handler = websocketHandler(async (event) => {
  const [caller] = await Promise.all([
    recordRequest(event.requestContext.connectionId).then(registered),
    limitRequest(event.requestContext),
  ]);
  const { after } = parseMembers(event.body);
  await replyOrRedeliver(caller, await membersPage(caller.room, after));
});
