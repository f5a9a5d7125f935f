/**
 * Lambda REQUEST authorizers, as API Gateway runs them before a WebSocket $connect:
 *
 * - every identity source the authorizer declares must be present and non-empty, or the
 *   upgrade is refused with 401 and the function is not invoked;
 * - the function gets a REQUEST event (methodArn, the upgrade's headers and query string,
 *   the $connect requestContext);
 * - it throws `Unauthorized`: 401; its policy does not allow `execute-api:Invoke` on the
 *   methodArn (an explicit Deny, or no Allow): 403; it throws anything else, times out, or
 *   answers something that is not a policy (a context value that is not a string, number or
 *   boolean included): 500;
 * - allowed: its context, with `principalId` and `integrationLatency`, is
 *   `requestContext.authorizer` of every later event of the connection.
 */
import type { WebSocketEvent } from './events.js';
import { evaluate, type Statement } from '../iam/iam.js';
import type { InvokeOutcome } from '../lambda/lambda-pool.js';

export type AuthorizerVerdict =
  { allowed: true; context: Record<string, string | number | boolean> } | { allowed: false; status: 401 | 403 | 500; message: string };

export interface AuthorizerEvent {
  type: 'REQUEST';
  methodArn: string;
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
  stageVariables: Record<string, string>;
  requestContext: WebSocketEvent['requestContext'];
}

/** API Gateway's answer to no token (a missing identity source) or an authorizer that threw `Unauthorized`. */
export const UNAUTHORIZED: AuthorizerVerdict = { allowed: false, status: 401, message: 'Unauthorized' };
const FORBIDDEN: AuthorizerVerdict = { allowed: false, status: 403, message: 'Forbidden' };
const FAILED: AuthorizerVerdict = { allowed: false, status: 500, message: 'Internal server error' };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The REQUEST event API Gateway sends the authorizer of a $connect. */
export function authorizerEvent(connect: WebSocketEvent, methodArn: string): AuthorizerEvent {
  return {
    type: 'REQUEST',
    methodArn,
    headers: (connect.headers ?? {}) as Record<string, string>,
    multiValueHeaders: (connect.multiValueHeaders ?? {}) as Record<string, string[]>,
    ...(connect.queryStringParameters && {
      queryStringParameters: connect.queryStringParameters,
      multiValueQueryStringParameters: connect.multiValueQueryStringParameters,
    }),
    stageVariables: {},
    requestContext: connect.requestContext,
  };
}

function lookup(values: Record<string, unknown> | undefined, name: string, ignoreCase: boolean): unknown {
  const key = Object.keys(values ?? {}).find((k) => (ignoreCase ? k.toLowerCase() === name.toLowerCase() : k === name));
  return key === undefined ? undefined : values?.[key];
}

/**
 * The identity sources a $connect lacks. Headers (`route.request.header.X`, any case) and
 * query parameters (`route.request.querystring.X`) are checked; stage variables and context
 * sources are not emulated and count as present.
 */
export function missingIdentitySources(sources: readonly string[], connect: WebSocketEvent): string[] {
  return sources.filter((source) => {
    const header = /^route\.request\.header\.(.+)$/i.exec(source);
    const query = /^route\.request\.querystring\.(.+)$/i.exec(source);
    const value = header
      ? lookup(connect.headers, header[1] as string, true)
      : query
        ? lookup(connect.queryStringParameters ?? undefined, query[1] as string, false)
        : 'not checked';
    return value === undefined || value === null || String(value).trim() === '';
  });
}

function statements(policy: unknown): Statement[] | undefined {
  if (!isRecord(policy) || !Array.isArray(policy.Statement)) return undefined;
  const list = (v: unknown): string[] | undefined => (v === undefined ? undefined : (Array.isArray(v) ? v : [v]).map(String));
  return policy.Statement.every(isRecord) && policy.Statement.every((s) => s.Effect === 'Allow' || s.Effect === 'Deny')
    ? policy.Statement.map((s, i) => ({
        Effect: s.Effect as 'Allow' | 'Deny',
        Action: list(s.Action),
        NotAction: list(s.NotAction),
        Resource: list(s.Resource),
        NotResource: list(s.NotResource),
        source: `policyDocument.Statement[${i}]`,
      }))
    : undefined;
}

/** What API Gateway makes of the authorizer's invocation. */
export function authorizerVerdict(outcome: InvokeOutcome, methodArn: string): AuthorizerVerdict {
  if (outcome.error) return outcome.error.errorMessage === 'Unauthorized' ? UNAUTHORIZED : FAILED;
  const answer = outcome.payload;
  if (!isRecord(answer) || typeof answer.principalId !== 'string') return FAILED;
  const policy = statements(answer.policyDocument);
  const context = answer.context ?? {};
  if (!policy || !isRecord(context)) return FAILED;
  if (!Object.values(context).every((v) => ['string', 'number', 'boolean'].includes(typeof v))) return FAILED;
  if (!evaluate(policy, 'execute-api:Invoke', methodArn).allowed) return FORBIDDEN;
  return {
    allowed: true,
    context: {
      ...(context as Record<string, string | number | boolean>),
      principalId: answer.principalId,
      integrationLatency: Math.round(outcome.durationMs),
    },
  };
}
