import type { Context } from 'aws-lambda';
import { getConnection } from '../connections/connections';
import { replyOrRedeliver } from '../delivery/redelivery';
import { type ChatError, connectStatus, isChatError } from '../wire/errors';
import type { WebSocketEvent, WebSocketResult } from '../wire/event';
import { instrumented, logger, tracer } from '../platform/observability';
import { errorFrame } from '../wire/protocol';

export type RouteHandler = (event: WebSocketEvent, context: Context) => Promise<WebSocketResult | void>;
export type LambdaHandler = (event: WebSocketEvent, context: Context) => Promise<WebSocketResult>;

const OK: WebSocketResult = { statusCode: 200 };

/**
 * What every route's function shares: Powertools context (logger keys with the
 * connection and request ids, a traced handler subsegment, metrics flushed at the
 * end) and the mapping of errors to answers. A ChatError is the client's to fix:
 * $connect refuses with 400 (403 for a room the token does not allow) and its message; other routes send the caller an
 * `error` frame. Anything else is logged and rethrown, which API Gateway answers
 * with "Internal server error" and no detail.
 */
export function websocketHandler(route: RouteHandler): LambdaHandler {
  return (event, context) =>
    instrumented(context, event.requestContext.routeKey, async () => {
      const { connectionId, routeKey, requestId, eventType } = event.requestContext;
      logger.appendKeys({ connectionId, routeKey, requestId });
      tracer.putAnnotation('routeKey', routeKey);
      try {
        return (await route(event, context)) ?? OK;
      } catch (error: unknown) {
        if (!isChatError(error)) {
          logger.error('request failed', error as Error);
          throw error;
        }
        logger.info('request refused', { code: error.code, reason: error.message });
        if (eventType === 'CONNECT') return { statusCode: connectStatus(error.code), body: error.message };
        if (eventType === 'MESSAGE') await answerError(connectionId, error);
        return OK;
      } finally {
        logger.removeKeys(['connectionId', 'routeKey', 'requestId']);
      }
    });
}

async function answerError(connectionId: string, error: ChatError): Promise<void> {
  const caller = await getConnection(connectionId);
  await replyOrRedeliver({ connectionId, protocol: caller?.protocol ?? 'plain' }, errorFrame(error));
}
