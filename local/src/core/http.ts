/** HTTP helpers the runtime's services share: a request body read with a limit, an AWS API's JSON answer and its errors. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Reads a request body up to `limit` bytes: undefined when it is longer (declared or
 * sent), a rejection when the client goes away mid-body.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      req.resume();
      req.on('end', () => resolve(undefined));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('request aborted')));
  });
}

/**
 * An AWS API's JSON answer: the body (none when undefined), its length, a request id, and
 * `headers` over the defaults (another content type, `x-amzn-errortype` for an error the SDK
 * raises by name). Nothing when an answer was already sent.
 */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = body === undefined ? '' : JSON.stringify(body);
  res
    .writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
      ...headers,
    })
    .end(text);
}

/**
 * The two ways the AWS APIs the runtime plays answer an error, so that each SDK client raises it
 * by its name: `rest-json` (API Gateway and its Management API: the name in
 * `x-amzn-errortype`, the message in the body) and `json` (DynamoDB and SQS, AWS JSON 1.0: the
 * name qualified in the body's `__type`, and for SQS its query-compatible code in
 * `x-amzn-query-error`).
 */
export type AwsProtocol = 'rest-json' | 'json';

export interface AwsError {
  status: number;
  /** The name the SDK raises: GoneException, AccessDeniedException, ... */
  code: string;
  message?: string;
  /** `json`: what qualifies the name in `__type` (default com.amazon.coral.service). */
  namespace?: string;
  /** `json`, SQS: the query-compatible code (InvalidClientTokenId, AccessDenied, ...). */
  queryCode?: string;
  /** The body's key of the message: AWS writes `Message` in IAM's denials. */
  messageKey?: 'message' | 'Message';
}

export function sendAwsError(res: ServerResponse, protocol: AwsProtocol, error: AwsError): void {
  const message = error.message === undefined ? {} : { [error.messageKey ?? 'message']: error.message };
  if (protocol === 'rest-json') {
    return sendJson(res, error.status, error.message === undefined ? undefined : message, { 'x-amzn-errortype': error.code });
  }
  return sendJson(
    res,
    error.status,
    { __type: `${error.namespace ?? 'com.amazon.coral.service'}#${error.code}`, ...message },
    {
      'content-type': 'application/x-amz-json-1.0',
      ...(error.queryCode ? { 'x-amzn-query-error': `${error.queryCode};Sender` } : {}),
    },
  );
}
