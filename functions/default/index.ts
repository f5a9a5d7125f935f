import {
  ChatError,
  type ConnectionInfo,
  ManagementTimeoutError,
  USAGE,
  type WebSocketRequestContext,
  getConnectionInfo,
  isGone,
  limitRequest,
  logger,
  parseBody,
  recordRequest,
  replyOrRedeliver,
  websocketHandler,
} from 'chat-core';

/**
 * $default: any frame no route matched. As in the tutorial, the sender is told to
 * use sendmessage, with its connection info from the Management API's
 * GetConnection. A chat.v1 client gets that as an `info` frame, or an `error`
 * frame when it sent malformed JSON or an action that does not exist. Each frame counts
 * against the request rate limits first (the connection's, which also reads it, and its
 * identity's), so a refused flood costs no GetConnection. When GetConnection is too slow
 * (POST_TIMEOUT_MS), the same fields come from the event, which API Gateway fills from the
 * same connection: a slow dependency is no "Internal server error".
 */
export const handler = websocketHandler(async (event) => {
  const { connectionId } = event.requestContext;
  const [caller] = await Promise.all([recordRequest(connectionId), limitRequest(event.requestContext)]);
  const info = await getConnectionInfo(connectionId).catch(leftAlready).catch(fromEventIfSlow(event.requestContext));
  if (info === undefined) return;
  const protocol = caller?.protocol ?? 'plain';
  if (protocol === 'chat.v1') rejectUnknownAction(event.body);
  await replyOrRedeliver({ connectionId, protocol }, { type: 'info', message: USAGE, ...info });
});

/** GetConnection timed out: the connection's info as the event gives it (LastActiveAt: this frame). */
const fromEventIfSlow =
  (requestContext: WebSocketRequestContext) =>
  (error: unknown): ConnectionInfo => {
    if (!(error instanceof ManagementTimeoutError)) throw error;
    logger.warn('GetConnection timed out; answering from the event', { error });
    const { connectedAt, requestTimeEpoch, identity, connectionId } = requestContext;
    return {
      ConnectedAt: new Date(connectedAt),
      Identity: { SourceIp: identity.sourceIp, UserAgent: identity.userAgent ?? null },
      LastActiveAt: new Date(requestTimeEpoch),
      connectionID: connectionId,
    };
  };

/** A caller that disconnected right after sending has nobody left to answer. */
function leftAlready(error: unknown): undefined {
  if (!isGone(error)) throw error;
  logger.info('caller left before the reply');
  return undefined;
}

function rejectUnknownAction(body: string | null | undefined): void {
  const request = parseBody(body);
  if (!('action' in request)) return;
  if (typeof request.action !== 'string') throw new ChatError('invalid_request', 'action must be a string');
  throw new ChatError(
    'unknown_action',
    `unknown action "${request.action.slice(0, 64)}"; the actions are sendmessage, history and members`,
  );
}
