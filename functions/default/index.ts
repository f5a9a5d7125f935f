import {
  ChatError,
  USAGE,
  getConnectionInfo,
  isGone,
  limitRequest,
  logger,
  parseBody,
  recordRequest,
  reply,
  websocketHandler,
} from 'chat-core';

/**
 * $default: any frame no route matched. As in the tutorial, the sender is told to
 * use sendmessage, with its connection info from the Management API's
 * GetConnection. A chat.v1 client gets that as an `info` frame, or an `error`
 * frame when it sent malformed JSON or an action that does not exist. Each frame counts
 * against the request rate limits first (the connection's, which also reads it, and its
 * identity's), so a refused flood costs no GetConnection.
 */
export const handler = websocketHandler(async (event) => {
  const { connectionId } = event.requestContext;
  const [caller] = await Promise.all([recordRequest(connectionId), limitRequest(event.requestContext)]);
  const info = await getConnectionInfo(connectionId).catch(leftAlready);
  if (info === undefined) return;
  const protocol = caller?.protocol ?? 'plain';
  if (protocol === 'chat.v1') rejectUnknownAction(event.body);
  await reply({ connectionId, protocol }, { type: 'info', message: USAGE, ...info });
});

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
