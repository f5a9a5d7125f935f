import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { config } from './config';
import { withDirectCalls } from './direct-dynamodb';
import { withDirectPost } from './direct-post';
import { tracer } from './observability';

/**
 * SDK clients, built once per function instance and reused across invocations so
 * that their keep-alive connections are reused too. Locally only the environment
 * differs: AWS_ENDPOINT_URL_DYNAMODB points the DynamoDB client at the local store. Its item
 * calls take the direct path of direct-dynamodb.ts (the SDK's signer and HTTP handler, not its
 * whole stack), traced as the X-Ray SDK's capture traces the rest.
 */
export const dynamodb = withDirectCalls(tracer.captureAWSv3Client(new DynamoDBClient({})), tracer);

/** The fan-out queue's client (AWS_ENDPOINT_URL_SQS points it at the local runtime). */
export const sqs = tracer.captureAWSv3Client(new SQSClient({}));

const managementClients = new Map<string, ApiGatewayManagementApiClient>();

/**
 * Attempts per Management API call through the SDK's stack (a post's come after its direct
 * attempt, direct-post.ts): a post throttled every time fails for certain well within
 * POST_TIMEOUT_MS (one back-off of at most a second), and is then redelivered through the
 * queue, which waits longer (redelivery.ts). So a post that times out was in flight: it may
 * have arrived, and is not sent again (broadcast.ts). The SDK's default of 3 could spend the
 * whole timeout backing off, and then a failure that is certain would look uncertain.
 */
export const MANAGEMENT_MAX_ATTEMPTS = 2;

/**
 * The Management API client for a stage endpoint. The endpoint comes from the
 * template (the API's execute-api URL), not from the event's domainName, so that
 * it also works when clients connect through a custom domain. It is not traced: a
 * fan-out would record one X-Ray subsegment per post, which costs more than the post
 * itself; the handler's subsegment and the DynamoDB and SQS calls are traced. Its posts take
 * the direct path of direct-post.ts (the SDK's signer and HTTP handler, not its whole stack).
 */
export function managementApi(endpoint: string = config.CONNECTIONS_URL): ApiGatewayManagementApiClient {
  let client = managementClients.get(endpoint);
  if (!client) {
    client = withDirectPost(
      new ApiGatewayManagementApiClient({
        endpoint,
        maxAttempts: MANAGEMENT_MAX_ATTEMPTS,
        requestHandler: {
          requestTimeout: config.POST_TIMEOUT_MS,
          httpAgent: { keepAlive: true, maxSockets: config.FANOUT_CONCURRENCY },
          httpsAgent: { keepAlive: true, maxSockets: config.FANOUT_CONCURRENCY },
        },
      }),
    );
    managementClients.set(endpoint, client);
  }
  return client;
}
