import type { DynamoDBClient, ServiceInputTypes, ServiceOutputTypes } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { getSmithyContext } from '@smithy/core';
import { INVOCATION_ID_HEADER, REQUEST_HEADER } from '@smithy/core/retry';
import type { SignatureV4 } from '@smithy/signature-v4';
import type {
  DeserializeMiddleware,
  FinalizeRequestMiddleware,
  HandlerExecutionContext,
  HttpRequest,
  HttpResponse,
  InitializeMiddleware,
} from '@smithy/types';
import { directSigner, type Endpoint, header, postTo, signAndSend, traceHeader } from './direct-request';
import type { ChatTracer } from './observability';

/**
 * The item calls a message makes (its rate limits, its place in the room, its write, the room's
 * Query) without the SDK's per-call stack, as direct-post.ts does for posts: the request is the
 * AWS JSON 1.0 one the SDK sends (POST to the endpoint the SDK itself resolved for this client on
 * an earlier call, `X-Amz-Target: DynamoDB_20120810.<Operation>`, the input as JSON), signed with
 * the SDK's own SigV4 signer (the client's credentials, region and clock offset; SHA-256 from
 * one-shot-sha256.ts) and sent
 * through the client's own HTTP handler. That stack costs more CPU than the call (a worker thread
 * here: ~370 µs of CPU per UpdateItem through the SDK's stack against ~200 µs through `send` on
 * this path), five times a message; a 512 MB function has 0.29 of a vCPU.
 *
 * Only a 200 is read here (JSON, binary values turned back into bytes as the SDK's deserializer
 * does). Any other answer (a condition that failed, a throttle, a server error) is handed, as it
 * came, to the SDK's stack, which deserializes it into its own modeled error (`Item` of a failed
 * condition included) and retries what it retries: the call is not sent twice. A call the direct
 * path does not take (no endpoint known yet, another operation, binary input) goes through the
 * SDK as always; so does a call whose connection failed, which the SDK's retries then send again,
 * as they would have. Traced, a direct call records the subsegment the X-Ray SDK's client capture
 * would (`DynamoDB`, namespace aws, operation, table, request id, status); the SDK's calls record
 * theirs as always, errors and throttles included.
 */
export const DIRECT_CALL_MIDDLEWARE = 'directDynamoDbCallMiddleware';

const OPERATIONS = new Set(['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query']);

/** Where the direct attempt leaves what the SDK's stack needs to go on with the same call. */
const DIRECT_ATTEMPT = Symbol('direct DynamoDB attempt');
type CallContext = HandlerExecutionContext & { [DIRECT_ATTEMPT]?: { invocationId: string; response?: HttpResponse } };

/** Adds the direct path to a DynamoDB client (aws.ts builds the client with it, after tracing is attached). */
export function withDirectCalls(client: DynamoDBClient, tracer: ChatTracer): DynamoDBClient {
  const known: { endpoint?: Endpoint } = {};
  client.middlewareStack.add(directCallMiddleware(client, tracer, known), {
    step: 'initialize',
    name: DIRECT_CALL_MIDDLEWARE,
    priority: 'high',
  });
  client.middlewareStack.addRelativeTo(continuedCall(known), {
    relation: 'after',
    toMiddleware: 'retryMiddleware',
    name: CONTINUED_MIDDLEWARE,
  });
  client.middlewareStack.add(answerReceived, { step: 'deserialize', name: ANSWER_MIDDLEWARE, priority: 'low' });
  return client;
}

const CONTINUED_MIDDLEWARE = 'directDynamoDbContinuedMiddleware';
const ANSWER_MIDDLEWARE = 'directDynamoDbAnswerMiddleware';

/**
 * After the SDK's retries: learns the endpoint the SDK resolved (the direct path's from then on),
 * and gives a call that began on the direct path its invocation id, so that the SDK's attempts
 * are that call's attempts (2 onwards; the direct one was 1).
 */
const continuedCall =
  (known: { endpoint?: Endpoint }): FinalizeRequestMiddleware<ServiceInputTypes, ServiceOutputTypes> =>
  (next, context) =>
  async (args) => {
    const request = args.request as HttpRequest;
    if (!known.endpoint && request?.hostname) {
      known.endpoint = {
        protocol: request.protocol,
        hostname: request.hostname,
        path: request.path,
        ...(request.port !== undefined && { port: request.port }),
      };
    }
    const direct = (context as CallContext)[DIRECT_ATTEMPT];
    if (direct && request?.headers) request.headers[INVOCATION_ID_HEADER] = direct.invocationId;
    return next(args);
  };

/** The SDK's first attempt of a call the direct path began is the answer it already has: it is not sent again. */
const answerReceived: DeserializeMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next, context) => async (args) => {
  const direct = (context as CallContext)[DIRECT_ATTEMPT];
  const response = direct?.response;
  if (!direct || !response) return next(args);
  delete direct.response;
  return { output: undefined as unknown as ServiceOutputTypes, response };
};

function directCallMiddleware(
  client: DynamoDBClient,
  tracer: ChatTracer,
  known: { endpoint?: Endpoint },
): InitializeMiddleware<ServiceInputTypes, ServiceOutputTypes> {
  let signer: SignatureV4 | undefined;
  let maxAttempts: number | undefined;
  let region: string | undefined;
  return (next, context) => async (args) => {
    const operation = context.commandName?.replace(/Command$/, '') ?? '';
    const { endpoint } = known;
    if (!endpoint || !OPERATIONS.has(operation)) return next(args);
    const body = jsonOf(args.input);
    if (body === undefined) return next(args);
    const { config } = client;
    signer ??= directSigner(config, 'dynamodb');
    maxAttempts ??= await config.maxAttempts();
    region ??= await config.region();
    const invocationId = randomUUID();
    const request = callRequest(endpoint, operation, body, {
      [INVOCATION_ID_HEADER]: invocationId,
      [REQUEST_HEADER]: `attempt=1; max=${maxAttempts}`,
      ...traceHeader(),
    });
    const abortSignal = getSmithyContext(context).abortSignal as AbortSignal | undefined;
    const startedAt = Date.now() / 1000;
    let response: HttpResponse;
    try {
      response = await signAndSend(signer, config, request, abortSignal);
    } catch (error: unknown) {
      if (abortSignal?.aborted) throw error;
      (context as CallContext)[DIRECT_ATTEMPT] = { invocationId };
      return next(args); // no answer (the connection failed): the SDK's attempts, as always, traced as always
    }
    if (response.statusCode !== 200) {
      // The SDK reads the answer (its modeled error) and retries what it retries; X-Ray's capture records it.
      (context as CallContext)[DIRECT_ATTEMPT] = { invocationId, response };
      return next(args);
    }
    const text = await bodyText(response);
    const requestId = header(response, 'x-amzn-requestid');
    record(tracer, {
      operation,
      region,
      table: (args.input as { TableName?: string }).TableName,
      requestId,
      startedAt,
      bytes: text.length,
    });
    const $metadata = { httpStatusCode: 200, requestId, attempts: 1, totalRetryDelay: 0 };
    return { output: { ...outputOf(text), $metadata } as ServiceOutputTypes, response };
  };
}

/** The input as AWS JSON, or undefined when it holds bytes (a B or BS value), which the SDK's serializer encodes. */
function jsonOf(input: unknown): string | undefined {
  try {
    return JSON.stringify(input, (_key, value: unknown) => {
      if (ArrayBuffer.isView(value)) throw BINARY;
      return value;
    });
  } catch (error: unknown) {
    if (error === BINARY) return undefined;
    throw error;
  }
}

const BINARY = Symbol('binary value');

function callRequest(endpoint: Endpoint, operation: string, body: string, headers: Record<string, string>): HttpRequest {
  return postTo(
    endpoint,
    endpoint.path,
    {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `DynamoDB_20120810.${operation}`,
      'content-length': String(Buffer.byteLength(body)),
      ...headers,
    },
    body,
  );
}

/** The output's JSON, binary values (B, BS) as bytes, as the SDK gives them. */
function outputOf(text: string): Record<string, unknown> {
  const output = JSON.parse(text) as Record<string, unknown>;
  if (!text.includes('"B":') && !text.includes('"BS":')) return output;
  return JSON.parse(text, (key, value: unknown) => {
    if (key === 'B' && typeof value === 'string') return Buffer.from(value, 'base64');
    if (key === 'BS' && Array.isArray(value)) return value.map((v) => Buffer.from(String(v), 'base64'));
    return value;
  }) as Record<string, unknown>;
}

/**
 * The subsegment the X-Ray SDK's client capture records for a DynamoDB call, from the call's start
 * to its answer: named DynamoDB, namespace aws, its operation, region, table and request id.
 *
 * It is closed as the SDK closes one, but sent on the next turn of the event loop rather than
 * there and then: in Lambda the X-Ray SDK sends each subsegment over UDP as it closes, and a
 * message's calls would wait for five of those sends (the document written and a datagram per
 * call). Sent later, it goes on its own (as the SDK streams a closed subsegment), unless its
 * parent closed first and took it along. A call recorded under the segment itself (no
 * subsegment of the invocation's own) is sent at once, as the SDK does.
 */
function record(
  tracer: ChatTracer,
  call: { operation: string; region: string; table?: string; requestId?: string; startedAt: number; bytes: number },
): void {
  const parent = tracer.getSegment();
  const subsegment = parent?.addNewSubsegment('DynamoDB');
  if (!parent || !subsegment) return;
  subsegment.start_time = call.startedAt;
  subsegment.addAttribute('namespace', 'aws');
  subsegment.addAttribute('aws', {
    operation: call.operation,
    region: call.region,
    retries: 0,
    ...(call.requestId !== undefined && { request_id: call.requestId }),
    ...(call.table !== undefined && { table_name: call.table }),
  });
  subsegment.addAttribute('http', { response: { status: 200, content_length: call.bytes } });
  if (!('parent' in parent)) return subsegment.close();
  // What close() does, but the send: the end, no longer in progress, one open child fewer.
  Object.assign(subsegment, { end_time: Date.now() / 1000 });
  delete subsegment.in_progress;
  parent.decrementCounter();
  setImmediate(() => {
    if (parent.isClosed()) return;
    subsegment.flush();
    parent.removeSubsegment(subsegment);
  });
}

async function bodyText(response: HttpResponse): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response.body as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}
