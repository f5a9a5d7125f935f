/**
 * AWS Signature Version 4 at the local runtime's doors: every call to `@connections`, SQS and the
 * store must be signed, in an `Authorization` header or a presigned query, with credentials the
 * runtime handed out (each function's own or the tools' LOCAL_CREDENTIALS, local/src/iam/iam.ts), and the
 * signature must be the one those credentials give. It is recomputed with @smithy/signature-v4,
 * the signer of the AWS SDK itself, from the request as it arrived (method, path, query, the
 * signed headers, the body). What is refused, and why, follows AWS's checks and messages; each
 * service words the refusal its own way (its door: front-door/aws-calls.ts).
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { canonicalRequest, headerSignature, Sha256 } from './sigv4-signature.js';

/** Why a request is not authenticated: AWS's error codes, without the service's suffix. */
export type SigV4Problem = 'MissingAuthenticationToken' | 'IncompleteSignature' | 'UnrecognizedClient' | 'InvalidSignature';

export interface SigV4Refusal {
  problem: SigV4Problem;
  message: string;
}

export interface SigV4Caller {
  accessKeyId: string;
}

export interface SignedRequest {
  method?: string;
  url?: string;
  headers: IncomingHttpHeaders;
}

export interface VerifyOptions {
  /** The service the credential scope must name (dynamodb, execute-api, sqs). */
  service: string;
  /** The secret of an access key id the runtime handed out; undefined for any other. */
  secretOf(accessKeyId: string): string | undefined;
  now?: Date;
  /** The body could not be kept (too large): check everything but the signature itself. */
  bodyUnavailable?: boolean;
}

/** AWS accepts a signature made up to 15 minutes before or after its own clock. */
const CLOCK_SKEW_MS = 15 * 60 * 1000;
const ALGORITHM = 'AWS4-HMAC-SHA256';
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** A signer as the SDK's, for whoever signs a call to the runtime by hand (tests, the benchmark's proxy). */
export function localSigner(
  credentials: { accessKeyId: string; secretAccessKey: string },
  service: string,
  region = 'us-east-1',
): SignatureV4 {
  return new SignatureV4({ credentials, region, service, sha256: Sha256, applyChecksum: false });
}

const refusal = (problem: SigV4Problem, message: string): SigV4Refusal => ({ problem, message });

/** The signature's parts, from the header or from the presigned query. */
interface Presented {
  presigned: boolean;
  credential: string;
  signedHeaders: string[];
  signature: string;
  amzDate: string;
  /** Seconds a presigned URL is valid for. */
  expires?: number;
}

function fromHeader(authorization: string, headers: IncomingHttpHeaders): Presented | SigV4Refusal {
  const algorithm = authorization.trim().split(/\s/, 1)[0] as string;
  if (algorithm !== ALGORITHM)
    return refusal('IncompleteSignature', `Unsupported AWS 'algorithm': '${algorithm}' (only ${ALGORITHM} for now). `);
  const params = new Map(
    authorization
      .trim()
      .slice(algorithm.length)
      .split(/[,\s]+/)
      .filter(Boolean)
      .map((part) => {
        const at = part.indexOf('=');
        return at < 0 ? [part, ''] : [part.slice(0, at), part.slice(at + 1)];
      }),
  );
  let missing = ['Credential', 'SignedHeaders', 'Signature']
    .filter((name) => !params.get(name))
    .map((name) => `Authorization header requires '${name}' parameter. `)
    .join('');
  const amzDate = headers['x-amz-date'];
  if (typeof amzDate !== 'string') missing += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
  if (missing) return refusal('IncompleteSignature', `${missing}Authorization=${authorization}`);
  return {
    presigned: false,
    credential: params.get('Credential') as string,
    signedHeaders: (params.get('SignedHeaders') as string).split(';'),
    signature: params.get('Signature') as string,
    amzDate: amzDate as string,
  };
}

function fromQuery(query: URLSearchParams): Presented | SigV4Refusal {
  const names = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Date'];
  const missing = names
    .filter((name) => !query.get(name))
    .map((name) => `AWS query-string parameters must include '${name}'. `)
    .join('');
  if (missing) return refusal('IncompleteSignature', `${missing}Re-examine the query-string parameters.`);
  const algorithm = query.get('X-Amz-Algorithm') as string;
  if (algorithm !== ALGORITHM)
    return refusal('IncompleteSignature', `Unsupported AWS 'algorithm': '${algorithm}' (only ${ALGORITHM} for now). `);
  const expires = Number(query.get('X-Amz-Expires') ?? 900);
  if (!Number.isInteger(expires) || expires < 1 || expires > 604_800) {
    return refusal(
      'IncompleteSignature',
      `X-Amz-Expires must be a whole number of seconds from 1 to 604800, got '${query.get('X-Amz-Expires')}'.`,
    );
  }
  return {
    presigned: true,
    credential: query.get('X-Amz-Credential') as string,
    signedHeaders: (query.get('X-Amz-SignedHeaders') as string).split(';'),
    signature: query.get('X-Amz-Signature') as string,
    amzDate: query.get('X-Amz-Date') as string,
    expires,
  };
}

/** 20250101T120000Z → its Date, or undefined when it is not ISO 8601 basic format. */
function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const basic = (date: Date): string =>
  date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');

/** The scope and the clock: what AWS checks before it looks the key up. */
function checkScope(presented: Presented, signedAt: Date, service: string, now: Date): SigV4Refusal | undefined {
  const parts = presented.credential.split('/');
  if (parts.length !== 5) {
    return refusal(
      'IncompleteSignature',
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${presented.credential}'`,
    );
  }
  const [, scopeDate, region, scopeService, terminator] = parts as [string, string, string, string, string];
  let wrong = '';
  if (!/^[a-z0-9-]+$/.test(region)) wrong += `Credential should be scoped to a valid region, not '${region}'. `;
  if (scopeService !== service) wrong += `Credential should be scoped to correct service: '${service}'. `;
  if (terminator !== 'aws4_request') wrong += `Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'. `;
  if (scopeDate !== presented.amzDate.slice(0, 8)) {
    wrong += `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${presented.amzDate.slice(0, 8)}', from '${presented.amzDate}'.`;
  }
  if (wrong) return refusal('InvalidSignature', wrong.trim());
  if (!presented.signedHeaders.includes('host'))
    return refusal('InvalidSignature', "'Host' must be a 'SignedHeader' in the AWS Authorization.");
  if (presented.presigned) {
    const expiresAt = signedAt.getTime() + (presented.expires as number) * 1000;
    if (now.getTime() > expiresAt)
      return refusal(
        'InvalidSignature',
        `Signature expired: ${presented.amzDate} is now earlier than ${basic(new Date(now.getTime() - (presented.expires as number) * 1000))}`,
      );
    if (signedAt.getTime() - now.getTime() > CLOCK_SKEW_MS)
      return refusal(
        'InvalidSignature',
        `Signature not yet current: ${presented.amzDate} is still later than ${basic(new Date(now.getTime() + CLOCK_SKEW_MS))}`,
      );
    return undefined;
  }
  if (now.getTime() - signedAt.getTime() > CLOCK_SKEW_MS) {
    return refusal(
      'InvalidSignature',
      `Signature expired: ${presented.amzDate} is now earlier than ${basic(new Date(now.getTime() - CLOCK_SKEW_MS))} (${basic(now)} - 15 min.)`,
    );
  }
  if (signedAt.getTime() - now.getTime() > CLOCK_SKEW_MS) {
    return refusal(
      'InvalidSignature',
      `Signature not yet current: ${presented.amzDate} is still later than ${basic(new Date(now.getTime() + CLOCK_SKEW_MS))} (${basic(now)} + 15 min.)`,
    );
  }
  return undefined;
}

/** The query as the signer takes it: decoded values, repeated names as arrays. */
function queryOf(params: URLSearchParams, without: string[]): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of params) {
    if (without.includes(name)) continue;
    const seen = query[name];
    query[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return query;
}

const sameSignature = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** SHA-256 in hex, one-shot (no hash object: less than half the time of createHash on a busy thread). */
const sha256Hex = (data: string | Buffer): string => hash('sha256', data, 'hex');

/**
 * The signature the secret gives for this request, computed as the SDK computes it: a header
 * signature by sigv4-signature.ts, a presigned URL by the SDK's signer, signing it again.
 */
async function expectedSignature(
  req: SignedRequest,
  body: Buffer,
  presented: Presented,
  signedAt: Date,
  secretAccessKey: string,
): Promise<string> {
  const [accessKeyId, , region, service] = presented.credential.split('/') as [string, string, string, string];
  const url = req.url ?? '/';
  const at = url.indexOf('?');
  const path = at < 0 ? url : url.slice(0, at);
  const params = new URLSearchParams(at < 0 ? '' : url.slice(at + 1));
  const headers: Record<string, string> = {};
  for (const name of presented.signedHeaders) {
    const value = req.headers[name];
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const signedHeaders = new Set(presented.signedHeaders);
  const request = {
    method: String(req.method ?? 'GET').toUpperCase(),
    protocol: 'http:',
    hostname: String(req.headers.host ?? ''),
    path,
    headers,
    body: body.length > 0 ? body : undefined,
    query: queryOf(params, presented.presigned ? ['X-Amz-Signature'] : []),
  };
  if (!presented.presigned) {
    // The payload's hash: the signed x-amz-content-sha256 when there is one, else the body's.
    const payloadHash = headers['x-amz-content-sha256'] ?? (body.length > 0 ? sha256Hex(body) : EMPTY_SHA256);
    const canonical = canonicalRequest(request, presented.signedHeaders, payloadHash);
    return headerSignature(canonical, { longDate: basic(signedAt), region, service, secretAccessKey });
  }
  const signed = await localSigner({ accessKeyId, secretAccessKey }, service, region).presign(request, {
    signingDate: signedAt,
    expiresIn: presented.expires,
    signableHeaders: signedHeaders,
    unhoistableHeaders: signedHeaders,
  });
  return String(signed.query?.['X-Amz-Signature'] ?? '');
}

/** Verifies a request's SigV4 signature: its caller, or why it is refused. */
export async function verifySigV4(req: SignedRequest, body: Buffer, options: VerifyOptions): Promise<SigV4Caller | SigV4Refusal> {
  const authorization = req.headers.authorization;
  const url = req.url ?? '/';
  const query = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
  const presignedQuery = query.has('X-Amz-Algorithm');
  if (authorization !== undefined && presignedQuery) {
    return refusal('InvalidSignature', "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.");
  }
  if ((authorization === undefined && !presignedQuery) || (authorization !== undefined && !authorization.trim().startsWith('AWS4-'))) {
    return refusal('MissingAuthenticationToken', 'Request is missing Authentication Token');
  }
  const presented = authorization === undefined ? fromQuery(query) : fromHeader(authorization, req.headers);
  if ('problem' in presented) return presented;
  const signedAt = parseAmzDate(presented.amzDate);
  if (!signedAt)
    return refusal(
      'IncompleteSignature',
      `Date must be in ISO-8601 'basic format'. Got '${presented.amzDate}'. See http://en.wikipedia.org/wiki/ISO_8601`,
    );
  const wrongScope = checkScope(presented, signedAt, options.service, options.now ?? new Date());
  if (wrongScope) return wrongScope;
  const accessKeyId = presented.credential.split('/')[0] as string;
  const secret = options.secretOf(accessKeyId);
  if (secret === undefined) return refusal('UnrecognizedClient', 'The security token included in the request is invalid.');
  if (options.bodyUnavailable) return { accessKeyId };
  const declaredHash = req.headers['x-amz-content-sha256'];
  if (typeof declaredHash === 'string' && declaredHash !== 'UNSIGNED-PAYLOAD' && presented.signedHeaders.includes('x-amz-content-sha256')) {
    const actual = body.length === 0 ? EMPTY_SHA256 : sha256Hex(body);
    if (declaredHash !== actual)
      return refusal('InvalidSignature', "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  const expected = await expectedSignature(req, body, presented, signedAt, secret);
  return sameSignature(expected, presented.signature) ? { accessKeyId } : refusal('InvalidSignature', MISMATCH);
}
