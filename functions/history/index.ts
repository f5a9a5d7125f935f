import {
  type ChatMessage,
  encodeFrame,
  limitRequest,
  parseHistory,
  readHistory,
  recordRequest,
  registered,
  replyOrRedeliver,
  websocketHandler,
} from 'chat-core';

/** API Gateway refuses posts over 128 KB; a history frame stays well below. */
const MAX_FRAME_BYTES = 120 * 1024;

/**
 * history: a page of the caller's room's stored messages, oldest first. A client
 * that reconnects asks for those `after` the last id it saw and so misses nothing. Each
 * request counts against the request rate limits (rate-limit.ts: per connection, and per
 * identity or source IP).
 */
export const handler = websocketHandler(async (event) => {
  const [caller] = await Promise.all([
    recordRequest(event.requestContext.connectionId).then(registered),
    limitRequest(event.requestContext),
  ]);
  const request = parseHistory(event.body);
  const page = await readHistory(caller.room, request);
  const messages = fitInFrame(page.messages, request.after !== undefined);
  const hasMore = page.hasMore || messages.length < page.messages.length;
  await replyOrRedeliver(caller, { type: 'history', room: caller.room, messages, hasMore });
});

/**
 * The messages that fit in one frame, keeping those nearest the cursor: the oldest
 * when reading forward (`after`), the newest otherwise. `hasMore` then tells the
 * client to ask again from where this page ends.
 */
function fitInFrame(messages: ChatMessage[], forward: boolean): ChatMessage[] {
  const ordered = forward ? messages : [...messages].reverse();
  const kept: ChatMessage[] = [];
  let bytes = 0;
  for (const message of ordered) {
    bytes += Buffer.byteLength(encodeFrame({ type: 'message', ...message }, 'chat.v1') ?? '', 'utf8');
    if (bytes > MAX_FRAME_BYTES) break;
    kept.push(message);
  }
  return forward ? kept : kept.reverse();
}
