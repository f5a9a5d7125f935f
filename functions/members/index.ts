import { type Member, limitRequest, parseMembers, recordRequest, registered, reply, roomConnections, websocketHandler } from 'chat-core';

/** A members frame stays well below API Gateway's 128 KB post limit. */
const MAX_MEMBERS = 2000;

/**
 * members: who is connected to the caller's room, each person once: by user id when the
 * stack authenticates (two people with one name stay apart), else by name. Each request counts
 * against the request rate limits (per connection, and per identity or source IP).
 */
export const handler = websocketHandler(async (event) => {
  const [caller] = await Promise.all([recordRequest(event.requestContext.connectionId).then(registered), limitRequest(event.requestContext)]);
  parseMembers(event.body);
  const members = new Map<string, Member>();
  for await (const page of roomConnections(caller.room)) {
    for (const { name, userId } of page) {
      const key = userId === undefined ? `name:${name}` : `user:${userId}`;
      if (members.size < MAX_MEMBERS && !members.has(key)) members.set(key, userId === undefined ? { name } : { name, userId });
    }
  }
  await reply(caller, { type: 'members', room: caller.room, members: [...members.values()] });
});
