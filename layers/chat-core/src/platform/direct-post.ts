import {
  type ApiGatewayManagementApiClient,
  GoneException,
  type PostToConnectionCommandInput,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { getSmithyContext } from '@smithy/core';
import { extendedEncodeURIComponent } from '@smithy/core/protocols';
import { DEFAULT_RETRY_DELAY_BASE, INVOCATION_ID_HEADER, REQUEST_HEADER, THROTTLING_RETRY_DELAY_BASE } from '@smithy/core/retry';
import type { SignatureV4 } from '@smithy/signature-v4';
import { directSigner, header, postTo, signAndSend, traceHeader } from './direct-request';
import {
  type HandlerExecutionContext,
  type HttpRequest,
  type HttpResponse,
  type FinalizeRequestMiddleware,
  type InitializeHandler,
  type InitializeMiddleware,
} from '@smithy/types';

/**
 * PostToConnection, the one call a fan-out makes per recipient, without the SDK's per-call
 * stack: the client's middleware for this command signs the request with the SDK's own SigV4
 * signer (its credentials and region; SHA-256 from one-shot-sha256.ts) and sends it through the client's own HTTP
 * handler (its keep-alive agent, its timeout), skipping the schema serializer, the endpoint
 * rules, the auth-scheme resolution, the user agent and the retry bookkeeping that the SDK
 * runs around every call. That stack costs more CPU than the post (a worker thread here:
 * ~400 µs of CPU per post through the SDK's stack against ~200 µs on this path;
 * `npm run bench` measures the whole fan-out), and a 512 MB function has 0.29 of a vCPU.
 *
 * The two answers a fan-out gets all the time are handled here: 2xx (delivered) and 410 Gone
 * (thrown as the SDK's own GoneException). Any other answer (throttled, forbidden, a server
 * error, a failed connection, a clock the service finds skewed) is handed to the SDK's full
 * stack, which sends the post again with its own retries and throws its own modeled error, as
 * every call did before; an aborted post (the caller's timeout) is not sent again. The direct
 * attempt carries the SDK's invocation id and attempt headers, and the SDK's attempts after it
 * continue them (attempt 2 of the same call onwards). The client's `send` is unchanged, so SDK
 * mocks and other commands see the SDK as always.
 */
export const DIRECT_POST_MIDDLEWARE = 'directPostToConnectionMiddleware';

/** Adds the direct path for PostToConnection to a Management API client (aws.ts builds each client with it). */
export function withDirectPost(client: ApiGatewayManagementApiClient): ApiGatewayManagementApiClient {
  client.middlewareStack.add(directPostMiddleware(client), { step: 'initialize', name: DIRECT_POST_MIDDLEWARE, priority: 'high' });
  client.middlewareStack.addRelativeTo(retriesOfDirectPost, {
    relation: 'after',
    toMiddleware: 'retryMiddleware',
    name: RETRIES_MIDDLEWARE,
  });
  return client;
}

const RETRIES_MIDDLEWARE = 'directPostRetriesMiddleware';

/** Where the direct attempt leaves its invocation id for the SDK's attempts that follow it. */
const DIRECT_ATTEMPT = Symbol('direct PostToConnection attempt');
type CallContext = HandlerExecutionContext & { [DIRECT_ATTEMPT]?: string };

/**
 * The SDK's attempts after a direct one are the same logical call's next attempts: the same
 * invocation id, attempt 2 onwards (what a service, or the local runtime's fault injector,
 * reads from those headers).
 */
const retriesOfDirectPost: FinalizeRequestMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next, context) => async (args) => {
  const invocationId = (context as CallContext)[DIRECT_ATTEMPT];
  const request = args.request as HttpRequest | undefined;
  if (invocationId !== undefined && request?.headers) {
    request.headers[INVOCATION_ID_HEADER] = invocationId;
    const counted = /^attempt=(\d+); max=(\d+)$/.exec(request.headers[REQUEST_HEADER] ?? '');
    if (counted) request.headers[REQUEST_HEADER] = `attempt=${Number(counted[1]) + 1}; max=${Number(counted[2]) + 1}`;
  }
  return next(args);
};

type Config = ApiGatewayManagementApiClient['config'];

function directPostMiddleware(client: ApiGatewayManagementApiClient): InitializeMiddleware<ServiceInputTypes, ServiceOutputTypes> {
  let signer: SignatureV4 | undefined;
  let maxAttempts: number | undefined;
  return (next: InitializeHandler<ServiceInputTypes, ServiceOutputTypes>, context) => async (args) => {
    if (context.commandName !== 'PostToConnectionCommand') return next(args);
    const { config } = client;
    const request = await postRequest(config, args.input as PostToConnectionCommandInput);
    if (!request) return next(args); // data the fan-out never sends (a stream): the SDK's serializer reads it
    signer ??= directSigner(config, 'execute-api');
    maxAttempts ??= await config.maxAttempts();
    const invocationId = randomUUID();
    request.headers[INVOCATION_ID_HEADER] = invocationId;
    request.headers[REQUEST_HEADER] = `attempt=1; max=${maxAttempts + 1}`;
    // The abort signal given to `send`, which the SDK keeps in the call's context for its HTTP handler.
    const abortSignal = getSmithyContext(context).abortSignal as AbortSignal | undefined;
    // Whatever follows is the SDK's stack trying again (after the wait the SDK's own first retry
    // makes for a throttle or a server error), failing as it always did.
    const sdkAttempts = async (delayBase: number) => {
      if (delayBase > 0) await sleep(Math.random() * delayBase, undefined, abortSignal && { signal: abortSignal });
      (context as CallContext)[DIRECT_ATTEMPT] = invocationId;
      return next(args);
    };
    let response: HttpResponse;
    try {
      response = await signAndSend(signer, config, request, abortSignal);
    } catch (error: unknown) {
      if (abortSignal?.aborted) throw error;
      return sdkAttempts(DEFAULT_RETRY_DELAY_BASE); // no answer (the connection failed)
    }
    drain(response);
    const $metadata = {
      httpStatusCode: response.statusCode,
      requestId: header(response, 'x-amzn-requestid'),
      attempts: 1,
      totalRetryDelay: 0,
    };
    if (response.statusCode >= 200 && response.statusCode < 300) return { output: { $metadata }, response };
    if (response.statusCode === 410) throw new GoneException({ message: 'Gone', $metadata });
    const throttled = response.statusCode === 429;
    return sdkAttempts(throttled ? THROTTLING_RETRY_DELAY_BASE : response.statusCode >= 500 ? DEFAULT_RETRY_DELAY_BASE : 0);
  };
}

/** The request the SDK would send: POST <stage path>/@connections/<id, label-encoded as the SDK does>, the data as the body. */
async function postRequest(config: Config, input: PostToConnectionCommandInput): Promise<HttpRequest | undefined> {
  const endpoint = await config.endpoint?.();
  const { ConnectionId: connectionId, Data: data } = input;
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data instanceof Uint8Array ? data : undefined;
  if (!endpoint || !connectionId || !body) return undefined;
  const path = `${endpoint.path.replace(/\/$/, '')}/@connections/${extendedEncodeURIComponent(connectionId)}`;
  const headers = { 'content-type': 'application/octet-stream', 'content-length': String(body.byteLength), ...traceHeader() };
  return postTo(endpoint, path, headers, body);
}

/** Reads the answer's body to its end, so that its keep-alive socket serves the next post. */
function drain(response: HttpResponse): void {
  const body = response.body as { resume?: () => void } | undefined;
  body?.resume?.();
}
