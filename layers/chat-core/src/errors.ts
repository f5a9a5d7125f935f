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
  | 'room_not_allowed';

/**
 * The HTTP status a $connect is refused with, per error: 403 for what the client's token
 * does not allow, 400 for what it asked wrongly.
 */
export function connectStatus(code: ErrorCode): 400 | 403 {
  return code === 'room_not_allowed' ? 403 : 400;
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
