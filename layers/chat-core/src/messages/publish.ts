import { config } from '../platform/config';
import { ChatError } from '../wire/errors';
import { deliver } from '../delivery/deliver';
import type { TimeBudget } from '../delivery/fanout';
import { saveMessage } from './messages';
import type { PublishRequest } from '../moderation/moderation-requests';
import { neutralizeControls, parseName } from '../identity/names';
import { logger } from '../platform/observability';
import { limitBackendCaller } from '../limits/rate-limit';
import type { ChatMessage } from '../wire/wire';

/** The name a backend's message goes by unless it gives one. */
export const BACKEND_NAME = 'system';

/**
 * A message from a server (a bot, a notice) into a room, through the backend API: stored and
 * fanned out exactly as a person's message (its place in the room's chain, history, the queue
 * for large rooms, redelivery), and marked `backend: true`, which no person's message carries,
 * whatever name it goes by. A caller's `id` makes it idempotent as a sendmessage `clientId` does,
 * per caller. Each caller has a rate limit of its own (BACKEND_RATE_LIMIT).
 */
export async function publishMessage(
  request: Omit<PublishRequest, 'name'> & { name?: string },
  caller: string,
  budget?: TimeBudget,
): Promise<{ message: ChatMessage; repeat: boolean }> {
  const text = neutralizeControls(request.text);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > config.MAX_MESSAGE_BYTES) {
    throw new ChatError('message_too_long', `text is ${bytes} bytes; the limit is ${config.MAX_MESSAGE_BYTES} UTF-8 bytes`);
  }
  const name = parseName(request.name ?? BACKEND_NAME);
  await limitBackendCaller(caller);

  const { message, repeat } = await saveMessage(
    // The caller stands where a connection would: it keys the id's idempotency record.
    { room: request.room, name, text, connectionId: `backend#${caller}`, backend: true },
    { ...(request.id !== undefined && { clientId: request.id }) },
  );
  if (repeat) return { message, repeat };
  const result = await deliver(request.room, { frame: { type: 'message', ...message }, repeat }, { ...(budget && { budget }) });
  logger.info('message published', { messageId: message.id, room: request.room, ...result });
  return { message, repeat };
}
