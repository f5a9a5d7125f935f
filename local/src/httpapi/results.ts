/**
 * What an HTTP API answers for its integration's result, payload format 2.0: an object with a
 * `statusCode` is the response (`headers`, `multiValueHeaders`, `cookies` as Set-Cookie, `body`,
 * base64-decoded when `isBase64Encoded`); any other result (a string, an object without
 * `statusCode`, nothing) is the body of a 200 `application/json` response, as JSON. A function
 * error is a 500, an integration past its timeout a 503, and so are API Gateway's own refusals,
 * with its bodies (`{"message":"..."}`) and its `apigw-requestid` header.
 */
import type { ServerResponse } from 'node:http';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

type Headers = Record<string, string | string[]>;

/** API Gateway's own answer: a status and `{"message": ...}`, with more headers (x-amzn-errortype) if given. */
export function gatewayAnswer(status: number, message: string, headers: Headers = {}): HttpAnswer {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: Buffer.from(JSON.stringify({ message })) };
}

export const NOT_FOUND = (): HttpAnswer => gatewayAnswer(404, 'Not Found');
export const INTERNAL_ERROR = (): HttpAnswer => gatewayAnswer(500, 'Internal Server Error');
export const UNAVAILABLE = (): HttpAnswer => gatewayAnswer(503, 'Service Unavailable');

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Adds `value` to the header `name` (case-insensitively), as one more value. */
function addHeader(headers: Headers, name: string, value: string): void {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name;
  const seen = headers[key];
  headers[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
}

const scalar = (v: unknown): v is string | number | boolean => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** The response for a function's result (its payload, JSON round-tripped); a malformed one is a 500, as on AWS. */
export function resultAnswer(payload: unknown): HttpAnswer {
  if (!isRecord(payload) || !('statusCode' in payload)) {
    return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(payload ?? null)) };
  }
  const status = Number(payload.statusCode);
  if (!Number.isInteger(status) || status < 100 || status > 599) return INTERNAL_ERROR();
  const headers: Headers = {};
  for (const [name, value] of Object.entries(isRecord(payload.headers) ? payload.headers : {})) {
    if (scalar(value)) addHeader(headers, name, String(value));
  }
  for (const [name, values] of Object.entries(isRecord(payload.multiValueHeaders) ? payload.multiValueHeaders : {})) {
    for (const value of Array.isArray(values) ? values : [values]) if (scalar(value)) addHeader(headers, name, String(value));
  }
  for (const cookie of Array.isArray(payload.cookies) ? payload.cookies : [])
    if (scalar(cookie)) addHeader(headers, 'set-cookie', String(cookie));
  const raw = payload.body;
  const text = raw === undefined || raw === null ? '' : typeof raw === 'string' ? raw : JSON.stringify(raw);
  const body = payload.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text);
  return { status, headers, body };
}

/** Writes an answer, with its length and the request id; a header Node refuses (invalid characters) makes it a 500. */
export function sendAnswer(res: ServerResponse, answer: HttpAnswer, requestId: string, head = false): number {
  if (res.headersSent) return answer.status;
  const headers = Object.fromEntries(
    Object.entries(answer.headers).filter(([name]) => !/^(content-length|transfer-encoding|connection)$/i.test(name)),
  );
  const fixed = { 'content-length': String(answer.body.length), 'apigw-requestid': requestId };
  try {
    res.writeHead(answer.status, { ...headers, ...fixed });
  } catch {
    const fallback = INTERNAL_ERROR();
    res.writeHead(fallback.status, { ...fallback.headers, 'content-length': String(fallback.body.length), 'apigw-requestid': requestId });
    res.end(head ? undefined : fallback.body);
    return fallback.status;
  }
  res.end(head ? undefined : answer.body);
  return answer.status;
}
