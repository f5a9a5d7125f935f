/**
 * chat-core: the shared layer of the chat's functions. Lambda installs it at
 * /opt/nodejs/node_modules/chat-core; locally it is the npm workspace of the same
 * name. Functions import only from here.
 */
export {
  config,
  loadConfig,
  MissingConfigError,
  CONNECTION_TTL_SECONDS,
  MAX_CONNECTION_SECONDS,
  RATE_WINDOW_SECONDS,
  type Config,
} from './config';
export { MANAGEMENT_MAX_ATTEMPTS, dynamodb, managementApi, sqs } from './aws';
export { type ChatTracer, instrumented, logger, metrics, tracer, tracingEnabled, MetricUnit } from './observability';
export { ChatError, connectStatus, isChatError, isGone, type ErrorCode } from './errors';
export { header, type WebSocketEvent, type WebSocketRequestContext, type WebSocketResult } from './event';
export { defaultName, nameFromToken, neutralizeControls, parseName, parseRoom } from './names';
export { DEFAULT_ROOM, MAX_NAME_LENGTH, ROOM_PATTERN } from './wire';
export { decodeIdentity, mayJoin, type Identity } from './identity';
export {
  CHAT_V1,
  CLIENT_ID,
  MAX_HISTORY_LIMIT,
  USAGE,
  describeModeration,
  encodeFrame,
  encodeMembersCursor,
  errorFrame,
  negotiateProtocol,
  parseBody,
  parseHistory,
  parseMembers,
  parseSendMessage,
  type ChatMessage,
  type ConnectionInfo,
  type Frame,
  type HistoryRequest,
  type Member,
  type ModerationResult,
  type PresenceChange,
  type Protocol,
  type SendMessageRequest,
} from './protocol';
export {
  ROOM_INDEX,
  deleteConnection,
  deleteConnections,
  getConnection,
  recordMessageSent,
  recordRequest,
  registered,
  requireConnection,
  roomConnections,
  roomIsFull,
  saveConnection,
  type Connection,
  type Recipient,
} from './connections';
export {
  limitBackendCaller,
  limitConnect,
  limitMessage,
  limitRequest,
  limitSubject,
  takeToken,
  type Bucket,
  type LimitedKind,
} from './rate-limit';
export {
  cancelReservation,
  readHistory,
  reservePlace,
  saveMessage,
  type HistoryPage,
  type MessageDraft,
  type Reservation,
  type SavedMessage,
} from './messages';
export { MAX_SENDER_ROOMS, forgetSenderRooms, knownSenderRoom, rememberSenderRoom } from './sender-rooms';
export { REDELIVERY_DELAYS_SECONDS, redeliver, replyOrRedeliver } from './redelivery';
export { EncodedFrame, broadcast, reply, type BroadcastOptions, type BroadcastResult } from './broadcast';
export { ManagementTimeoutError, closeConnection, getConnectionInfo, postToConnection } from './management';
export {
  HANDOFF_RESERVE_MS,
  MAX_STALLS,
  announce,
  confirmationQueued,
  deadlineOf,
  fanOut,
  postWithin,
  serveShard,
  type FanOutOptions,
  type FanOutResult,
  type TimeBudget,
} from './fanout';
export { parseQueueMessage, parseShard, shardRecipients, type ConfirmTo, type PresenceDue, type QueueMessage, type Shard } from './shards';
export { confirmationFrame, countShards } from './confirmation';
export { MEMBERS_PAGE_BYTES, MEMBERS_PAGE_CONNECTIONS, membersPage } from './members';
export { LOST_FLUSH_MS, MAX_PENDING_CHANGES, flushPresence, notePresence, presenceFrame } from './presence';
export { consumeQueue } from './queue-consumer';
export { websocketHandler, type LambdaHandler, type RouteHandler } from './handler';
export { backendHandler, type BackendEvent, type BackendRequest, type BackendResult, type BackendRoute } from './backend-handler';
export { BACKEND_NAME, publishMessage } from './publish';
export { activeBan, banNotice, moderate, type ModerateOptions, type Moderator } from './moderation';
export {
  MAX_BAN_SECONDS,
  durationSeconds,
  parseBackendModeration,
  parseModerate,
  parsePublishRequest,
  type ModerationRequest,
  type PublishRequest,
} from './moderation-requests';
