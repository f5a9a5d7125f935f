/**
 * The event API Gateway sends a WebSocket route's Lambda proxy integration.
 * `@types/aws-lambda` leaves out the identity, the $connect headers and query
 * string, and the $disconnect status; this type has what API Gateway really sends.
 */
export interface WebSocketIdentity {
  sourceIp: string;
  userAgent?: string | null;
  [key: string]: unknown;
}

export interface WebSocketRequestContext {
  routeKey: string;
  eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT';
  connectionId: string;
  /** Epoch milliseconds. */
  connectedAt: number;
  requestId: string;
  extendedRequestId?: string;
  messageId?: string;
  messageDirection: 'IN';
  requestTime?: string;
  requestTimeEpoch: number;
  stage: string;
  domainName: string;
  apiId: string;
  identity: WebSocketIdentity;
  disconnectStatusCode?: number;
  disconnectReason?: string;
  error?: string;
  status?: string;
  [key: string]: unknown;
}

export interface WebSocketEvent {
  requestContext: WebSocketRequestContext;
  body?: string | null;
  isBase64Encoded: boolean;
  /** Only on $connect (and $disconnect, with a few headers). */
  headers?: Record<string, string | undefined>;
  multiValueHeaders?: Record<string, string[] | undefined>;
  /** Only on $connect; absent or null when the URL has no query string. */
  queryStringParameters?: Record<string, string | undefined> | null;
  multiValueQueryStringParameters?: Record<string, string[] | undefined> | null;
}

export interface WebSocketResult {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
}

/** A header value regardless of the case the client used for its name. */
export function header(event: WebSocketEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}
