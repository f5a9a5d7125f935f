/**
 * The event API Gateway sends an HTTP API's Lambda integration, payload format 2.0, field for
 * field: header names in lower case, repeated headers and query parameters joined with commas,
 * the Cookie header as `cookies`, rawPath as the client sent it (a named stage's segment
 * included, as on AWS), and the body base64-encoded unless its content type is text.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { requestTime, traceId } from '../apigateway/events.js';

/** requestContext.authorizer.iam of an AWS_IAM route: who signed the request. */
export interface IamIdentity {
  accessKey: string;
  accountId: string;
  callerId: string;
  cognitoIdentity: null;
  principalOrgId: string | null;
  userArn: string;
  userId: string;
}

export interface HttpApiEvent {
  version: '2.0';
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  pathParameters?: Record<string, string>;
  requestContext: {
    accountId: string;
    apiId: string;
    authorizer?: { iam: IamIdentity };
    domainName: string;
    domainPrefix: string;
    http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
    requestId: string;
    routeKey: string;
    stage: string;
    time: string;
    timeEpoch: number;
  };
  body?: string;
  isBase64Encoded: boolean;
}

/** What the event needs besides the request itself. */
export interface EventContext {
  routeKey: string;
  stage: string;
  apiId: string;
  accountId: string;
  requestId: string;
  pathParameters: Record<string, string>;
  /** The port the request came to (X-Forwarded-Port). */
  port: number;
  iam?: IamIdentity;
  now?: number;
}

/** Content types API Gateway passes as text; any other body (or one without a type) arrives base64-encoded. */
export function isTextContent(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return (
    type.startsWith('text/') ||
    /^application\/(?:json|xml|javascript|ecmascript)$/.test(type) ||
    /^application\/[\w.+-]+\+(?:json|xml)$/.test(type)
  );
}

/** The label of the host a client addressed: the API id of `<id>.execute-api...`, a name's first label, an address itself. */
function domainPrefixOf(domainName: string): string {
  const host = domainName.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return isIP(host) !== 0 ? host : (host.split('.')[0] ?? host);
}

/** The request's headers as format 2.0 has them: names in lower case, repeats joined by commas, without Cookie. */
function headersOf(req: IncomingMessage, sourceIp: string, port: number): { headers: Record<string, string>; cookies: string[] } {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] as string).toLowerCase();
    const value = req.rawHeaders[i + 1] as string;
    if (name === 'cookie')
      cookies.push(
        ...value
          .split(';')
          .map((c) => c.trim())
          .filter(Boolean),
      );
    else headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const forwarded = headers['x-forwarded-for'];
  headers['x-forwarded-for'] = forwarded ? `${forwarded}, ${sourceIp}` : sourceIp;
  headers['x-forwarded-port'] = String(port);
  headers['x-forwarded-proto'] = 'http';
  headers['x-amzn-trace-id'] = traceId();
  return { headers, cookies };
}

export function httpApiEvent(req: IncomingMessage, body: Buffer, context: EventContext): HttpApiEvent {
  const now = context.now ?? Date.now();
  const url = req.url ?? '/';
  const at = url.indexOf('?');
  const rawPath = at < 0 ? url : url.slice(0, at);
  const rawQueryString = at < 0 ? '' : url.slice(at + 1).replace(/#.*$/, '');
  const sourceIp = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  const { headers, cookies } = headersOf(req, sourceIp, context.port);
  const query: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString))
    query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  const domainName = req.headers.host ?? `127.0.0.1:${context.port}`;
  const text = isTextContent(req.headers['content-type']);
  return {
    version: '2.0',
    routeKey: context.routeKey,
    rawPath,
    rawQueryString,
    ...(cookies.length > 0 && { cookies }),
    headers,
    ...(Object.keys(query).length > 0 && { queryStringParameters: query }),
    ...(Object.keys(context.pathParameters).length > 0 && { pathParameters: context.pathParameters }),
    requestContext: {
      accountId: context.accountId,
      apiId: context.apiId,
      ...(context.iam && { authorizer: { iam: context.iam } }),
      domainName,
      domainPrefix: domainPrefixOf(domainName),
      http: {
        method: String(req.method ?? 'GET').toUpperCase(),
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp,
        userAgent: req.headers['user-agent'] ?? '',
      },
      requestId: context.requestId,
      routeKey: context.routeKey,
      stage: context.stage,
      time: requestTime(now),
      timeEpoch: now,
    },
    ...(body.length > 0 && { body: text ? body.toString('utf8') : body.toString('base64') }),
    isBase64Encoded: body.length > 0 && !text,
  };
}
