/**
 * The events API Gateway sends a WebSocket API's Lambda integrations ($connect, messages,
 * $disconnect), field for field, and the identifiers it makes (connection and request ids
 * that look like API Gateway's, e.g. "Mg_ugfpqPHcCIVA=").
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** An id shaped like API Gateway's connection, request and message ids: 16 characters, base64. */
export function gatewayId(): string {
  return `${randomBytes(11).toString('base64url')}=`;
}

/** X-Amzn-Trace-Id as API Gateway adds it. */
export function traceId(now = Date.now()): string {
  return `Root=1-${Math.floor(now / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** requestContext.requestTime: "25/Jan/2022:18:50:04 +0000". */
export function requestTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

/** What every event of one connection shares. */
export interface ConnectionInfo {
  connectionId: string;
  connectedAt: number;
  sourceIp: string;
  userAgent: string | undefined;
  domainName: string;
  stage: string;
  apiId: string;
  /** What the $connect's authorizer allowed it with: `requestContext.authorizer` of every event after it. */
  authorizer?: Record<string, unknown>;
}

export type EventType = 'CONNECT' | 'MESSAGE' | 'DISCONNECT';

export interface WebSocketEvent {
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
  requestContext: Record<string, unknown> & { routeKey: string; eventType: EventType; connectionId: string; requestId: string };
  body?: string;
  isBase64Encoded: boolean;
}

function requestContext(
  info: ConnectionInfo,
  routeKey: string,
  eventType: EventType,
  requestId: string,
  now: number,
  extra: Record<string, unknown>,
): WebSocketEvent['requestContext'] {
  const identity: Record<string, string> = { sourceIp: info.sourceIp };
  if (info.userAgent !== undefined) identity.userAgent = info.userAgent;
  return {
    routeKey,
    ...(info.authorizer && { authorizer: info.authorizer }),
    ...extra,
    eventType,
    extendedRequestId: requestId,
    requestTime: requestTime(now),
    messageDirection: 'IN',
    stage: info.stage,
    connectedAt: info.connectedAt,
    requestTimeEpoch: now,
    identity,
    requestId,
    domainName: info.domainName,
    connectionId: info.connectionId,
    apiId: info.apiId,
  };
}

/** Headers as the client sent them (case kept), plus the X-Forwarded-* and trace headers API Gateway adds. */
export function upgradeHeaders(
  req: IncomingMessage,
  sourceIp: string,
  port: number,
): {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
} {
  const multi: Record<string, string[]> = {};
  const names = new Map<string, string>();
  const add = (name: string, value: string): void => {
    const key = names.get(name.toLowerCase()) ?? name;
    names.set(name.toLowerCase(), key);
    (multi[key] ??= []).push(value);
  };
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) add(req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string);
  const set = (name: string, value: string): void => {
    const key = names.get(name.toLowerCase()) ?? name;
    names.set(name.toLowerCase(), key);
    multi[key] = [value];
  };
  const forwarded = names.get('x-forwarded-for');
  set('X-Amzn-Trace-Id', traceId());
  set('X-Forwarded-For', forwarded ? `${(multi[forwarded] as string[]).join(', ')}, ${sourceIp}` : sourceIp);
  set('X-Forwarded-Port', String(port));
  set('X-Forwarded-Proto', 'http');
  const headers = Object.fromEntries(Object.entries(multi).map(([k, v]) => [k, v.join(',')]));
  return { headers, multiValueHeaders: multi };
}

export function connectEvent(info: ConnectionInfo, req: IncomingMessage, url: URL, port: number, requestId: string): WebSocketEvent {
  const query: Record<string, string[]> = {};
  for (const [key, value] of url.searchParams) (query[key] ??= []).push(value);
  const hasQuery = Object.keys(query).length > 0;
  return {
    ...upgradeHeaders(req, info.sourceIp, port),
    ...(hasQuery
      ? {
          queryStringParameters: Object.fromEntries(Object.entries(query).map(([k, v]) => [k, v[v.length - 1] as string])),
          multiValueQueryStringParameters: query,
        }
      : {}),
    requestContext: requestContext(info, '$connect', 'CONNECT', requestId, info.connectedAt, {}),
    isBase64Encoded: false,
  };
}

export function messageEvent(info: ConnectionInfo, routeKey: string, body: string, requestId: string, now = Date.now()): WebSocketEvent {
  return {
    requestContext: requestContext(info, routeKey, 'MESSAGE', requestId, now, { messageId: gatewayId() }),
    body,
    isBase64Encoded: false,
  };
}

export function disconnectEvent(
  info: ConnectionInfo,
  statusCode: number,
  reason: string,
  requestId: string,
  now = Date.now(),
): WebSocketEvent {
  const headers = { Host: info.domainName, 'x-api-key': '', 'X-Forwarded-For': '', 'x-restapi': '' };
  return {
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    requestContext: requestContext(info, '$disconnect', 'DISCONNECT', requestId, now, {
      disconnectStatusCode: statusCode,
      disconnectReason: reason,
    }),
    isBase64Encoded: false,
  };
}

/** The frame API Gateway sends a client when it cannot serve its message. */
export function gatewayErrorFrame(message: string, connectionId: string, requestId: string): string {
  return `{"message": ${JSON.stringify(message)}, "connectionId":${JSON.stringify(connectionId)}, "requestId":${JSON.stringify(requestId)}}`;
}
