import { GoneException } from '@aws-sdk/client-apigatewaymanagementapi';

/** Stable, machine-readable error codes sent to clients in `error` frames. */
export type ErrorCode =
  | 'invalid_json'
  | 'invalid_request'
  | 'unknown_action'
  | 'message_too_long'
  | 'rate_limited'
  | 'not_connected'
  | 'invalid_room'
  | 'invalid_name'
  | 'unsupported_subprotocol'
  | 'room_not_allowed'
  | 'room_full'
  | 'forbidden'
  | 'banned'
  | 'not_found';

/**
 * The HTTP status a $connect is refused with, per error: 429 for a client connecting too
 * often (it may try again later), 403 for a room its token does not allow or that is full
 * (the request is fine, the room will not take it now) or has banned it, 400 for what it asked wrongly.
 */
export function connectStatus(code: ErrorCode): 400 | 403 | 429 {
  if (code === 'rate_limited') return 429;
  return code === 'room_not_allowed' || code === 'room_full' || code === 'banned' || code === 'forbidden' ? 403 : 400;
}

/** An error that is the client's to fix: it is answered, never logged as a fault. */
export class ChatError extends Error {
  override readonly name = 'ChatError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isChatError(error: unknown): error is ChatError {
  return error instanceof ChatError;
}

/** The SDK error name of a connection that no longer exists (HTTP 410). */
export function isGone(error: unknown): boolean {
  return error instanceof GoneException || (error instanceof Error && error.name === 'GoneException');
}
