/**
 * chat-core: the shared layer of the chat's functions. Lambda installs it at
 * /opt/nodejs/node_modules/chat-core; locally it is the npm workspace of the same
 * name. Functions import only from here.
 */
export { config } from './config';
export { instrumented, logger, metrics, MetricUnit } from './observability';
export { ChatError, isGone } from './errors';
export { header, type WebSocketEvent, type WebSocketRequestContext } from './event';
export { nameFromToken, parseName, parseRoom } from './names';
export { decodeIdentity, mayJoin } from './identity';
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
} from './protocol';
// The benchmark drives these two in the built layer (bench/poster-worker.ts): the fan-out as deployed.
export { broadcast } from './broadcast';
export { roomConnections } from './connections';
export { deleteConnection, recordMessageSent, recordRequest, registered, roomIsFull, saveConnection, type Recipient } from './connections';
export { limitBackendCaller, limitConnect, limitMessage, limitRequest } from './rate-limit';
export { cancelReservation, readHistory, reservePlace, saveMessage } from './messages';
export { knownSenderRoom, rememberSenderRoom } from './sender-rooms';
export { redeliver, replyOrRedeliver } from './redelivery';
export { ManagementTimeoutError, getConnectionInfo } from './management';
export { confirmationQueued, fanOut, serveShard, type FanOutResult } from './fanout';
export { parseQueueMessage, type ConfirmTo } from './shards';
export { confirmationFrame } from './confirmation';
export { membersPage } from './members';
export { flushPresence, notePresence } from './presence';
export { consumeQueue } from './queue-consumer';
export { websocketHandler } from './handler';
export { backendHandler, type BackendEvent } from './backend-handler';
export { publishMessage } from './publish';
export { activeBan, banNotice, moderate } from './moderation';
export { parseBackendModeration, parseModerate, parsePublishRequest } from './moderation-requests';
