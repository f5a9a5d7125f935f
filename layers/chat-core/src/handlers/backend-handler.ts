import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { type ErrorCode, isChatError } from '../wire/errors';
import { instrumented, logger } from '../platform/observability';

/**
 * What the backend API's functions share (its routes are IAM-authorised: API Gateway has
 * checked the caller's SigV4 signature and `execute-api:Invoke` permission before any of this
 * runs): Powertools context, the caller's principal, and JSON answers. A ChatError is the
 * caller's to fix and gets its status with `{code, message}`; anything else is logged and
 * answered 500 without detail.
 */
export type BackendEvent = APIGatewayProxyEventV2WithIAMAuthorizer;
export type BackendResult = APIGatewayProxyStructuredResultV2;
/** What a route is asked: the request's body (decoded), and `caller`, the IAM principal API Gateway verified (its ARN). */
export interface BackendRequest {
  body: string | undefined;
  caller: string;
}
export type BackendRoute = (request: BackendRequest, context: Context) => Promise<unknown>;

const STATUS: Partial<Record<ErrorCode, number>> = { rate_limited: 429, not_found: 404, forbidden: 403 };

const json = (statusCode: number, body: unknown): BackendResult => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

export function backendHandler(route: BackendRoute): (event: BackendEvent, context: Context) => Promise<BackendResult> {
  return (event, context) =>
    instrumented(context, event.routeKey, async () => {
      const { requestId } = event.requestContext;
      const caller = event.requestContext.authorizer?.iam?.userArn;
      logger.appendKeys({ routeKey: event.routeKey, requestId, caller });
      try {
        // Only a route deployed without AWS_IAM lacks it: nobody is let in then.
        if (!caller) return json(403, { code: 'forbidden', message: 'this API takes IAM-signed (SigV4) requests only' });
        const body = event.isBase64Encoded && event.body !== undefined ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
        return json(200, await route({ body, caller }, context));
      } catch (error: unknown) {
        if (!isChatError(error)) {
          logger.error('request failed', error as Error);
          return json(500, { code: 'internal_error', message: 'Internal server error' });
        }
        logger.info('request refused', { code: error.code, reason: error.message });
        return json(STATUS[error.code] ?? 400, { code: error.code, message: error.message });
      } finally {
        logger.removeKeys(['routeKey', 'requestId', 'caller']);
      }
    });
}
