/**
 * chat-core: the shared layer of the chat's functions. Lambda installs it at
 * /opt/nodejs/node_modules/chat-core; locally it is the npm workspace of the same
 * name. Functions import only from here.
 */
export { config } from './platform/config';
export { instrumented, logger, metrics, MetricUnit } from './platform/observability';
export { ChatError, isGone } from './wire/errors';
export { header, type WebSocketEvent, type WebSocketRequestContext } from './wire/event';
export { nameFromToken, parseName, parseRoom } from './identity/names';
export { decodeIdentity, mayJoin } from './identity/identity';
export {
  USAGE,
  encodeFrame,
  negotiateProtocol,
  parseBody,
  parseHistory,
  parseMembers,
  parseSendMessage,
  type ChatMessage,
  type ConnectionInfo,
  type Frame,
  type SendMessageRequest,
} from './wire/protocol';
// The benchmark drives these two in the built layer (bench/src/floors/poster-worker.ts): the fan-out as deployed;
// and it writes shards of this shape into FanoutFunction's SQS events (bench/src/scenarios/queue.ts).
export { broadcast } from './delivery/broadcast';
export { roomConnections } from './connections/connections';
export type { Shard } from './delivery/shards';
export {
  deleteConnection,
  recordMessageSent,
  recordRequest,
  registered,
  roomIsFull,
  saveConnection,
  type Recipient,
} from './connections/connections';
export { limitBackendCaller, limitConnect, limitMessage, limitRequest } from './limits/rate-limit';
export { cancelReservation, readHistory, reservePlace, saveMessage } from './messages/messages';
export { knownSender, rememberSender } from './messages/sender-rooms';
export { redeliver, replyOrRedeliver } from './delivery/redelivery';
export { ManagementTimeoutError, getConnectionInfo } from './platform/management';
export { deliver } from './delivery/deliver';
export { serveShard } from './delivery/fanout';
export { parseQueueMessage } from './delivery/shards';
export { membersPage } from './connections/members';
export { flushPresence, notePresence } from './presence/presence';
export { consumeQueue } from './delivery/queue-consumer';
export { websocketHandler } from './handlers/handler';
export { backendHandler, type BackendEvent } from './handlers/backend-handler';
export { publishMessage } from './messages/publish';
export { activeBan, banNotice, moderate } from './moderation/moderation';
export { parseBackendModeration, parseModerate, parsePublishRequest } from './moderation/moderation-requests';
