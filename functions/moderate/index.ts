import type { Context } from 'aws-lambda';
import {
  type BackendEvent,
  ChatError,
  type WebSocketEvent,
  backendHandler,
  decodeIdentity,
  limitBackendCaller,
  limitRequest,
  moderate,
  parseBackendModeration,
  parseModerate,
  recordRequest,
  registered,
  replyOrRedeliver,
  websocketHandler,
} from 'chat-core';

/**
 * Moderation (chat-core moderation.ts), both ways in, one code path and one policy:
 *
 * - the chat.v1 action `moderate` (`op` check, delete, ban or unban), in the sender's own room,
 *   for people whose token is in the moderators group (ModeratorsGroup); anyone else gets
 *   `forbidden`, except `check`, which tells everyone whether they moderate. Counted as a request.
 * - POST /moderation of the backend API (IAM-authorised), in the room it names, for any caller
 *   the API lets in. Counted against the caller's own limit.
 */
const overWebSocket = websocketHandler(async (event, context) => {
  const [connection] = await Promise.all([
    recordRequest(event.requestContext.connectionId).then(registered),
    limitRequest(event.requestContext),
  ]);
  const request = parseModerate(event.body, connection.room);
  const identity = decodeIdentity(event.requestContext.authorizer);
  if (request.op === 'check') {
    await replyOrRedeliver(connection, { type: 'moderation', op: 'check', room: connection.room, moderator: identity?.moderator === true });
    return;
  }
  if (!identity?.moderator) throw new ChatError('forbidden', `only moderators may ${request.op} in room ${connection.room}`);
  const result = await moderate(request, { kind: 'person', userId: identity.userId, name: connection.name }, { budget: context });
  await replyOrRedeliver(connection, { type: 'moderation', ...result });
});

const overBackendApi = backendHandler(async ({ body, caller }, context) => {
  const request = parseBackendModeration(body);
  await limitBackendCaller(caller);
  return moderate(request, { kind: 'backend', arn: caller }, { budget: context });
});

export const handler = (event: WebSocketEvent | BackendEvent, context: Context) =>
  'connectionId' in event.requestContext ? overWebSocket(event as WebSocketEvent, context) : overBackendApi(event as BackendEvent, context);
