/**
 * DynamoDB's door (front-door/aws-calls.ts does what every service's door does): every request
 * to the embedded store passes here. The store's listener keeps foreign Host and Origin out
 * (front-door/doors.ts), a function's call is named for IAM (iam-calls.ts), and the faults asked
 * for are answered before the call reaches the store, so a faulted call has no effect.
 *
 * It also keeps the store's own request handling from taking the process down: dynalite throws
 * from a request stream's 'error' (a client that resets mid-request), so it only ever sees a
 * request whose body has been read in full.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RuntimeLog } from '../core/log.js';
import { readBody, sendAwsError, type AwsError } from '../core/http.js';
import { replay, type AwsCalls, type Signing } from '../front-door/aws-calls.js';
import type { Doors } from '../front-door/doors.js';
import type { DynamoDbFault, Faults } from '../faults/faults.js';
import type { TemplateModel } from '../template/template.js';
import { dynamodbCalls } from './iam-calls.js';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** DynamoDB answers a request it cannot authenticate with 400 and its JSON __type. */
const SIGNING: Signing = {
  service: 'dynamodb',
  protocol: 'json',
  errors: {
    MissingAuthenticationToken: { status: 400, code: 'MissingAuthenticationTokenException' },
    IncompleteSignature: { status: 400, code: 'IncompleteSignatureException' },
    UnrecognizedClient: { status: 400, code: 'UnrecognizedClientException' },
    InvalidSignature: { status: 400, code: 'InvalidSignatureException' },
  },
};

/** What DynamoDB answers for each fault the runtime injects, and for a store that fails. */
const FAULTS: Record<DynamoDbFault, AwsError> = {
  throughput: {
    status: 400,
    code: 'ProvisionedThroughputExceededException',
    namespace: 'com.amazonaws.dynamodb.v20120810',
    message:
      'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
  },
  throttling: {
    status: 400,
    code: 'ThrottlingException',
    namespace: 'com.amazon.coral.availability',
    message: 'Rate of requests exceeds the allowed throughput.',
  },
  error: { status: 500, code: 'InternalServerError', namespace: 'com.amazonaws.dynamodb.v20120810', message: 'Internal server error' },
};

/** dynalite's limit on a request body. */
const MAX_STORE_REQUEST = 16 * 1024 * 1024;

export interface StoreDoorOptions {
  model: TemplateModel;
  calls: AwsCalls;
  faults: Faults;
  doors: Doors;
  log: RuntimeLog;
}

/** Wraps the store's request listener (dynalite's). */
export function storeDoor(options: StoreDoorOptions): (listener: RequestListener) => RequestListener {
  const { faults, doors } = options;
  return (listener) => (req, res) => {
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    if (faults.storeIsDown()) {
      if (typeof req.socket.resetAndDestroy === 'function') req.socket.resetAndDestroy();
      else req.socket.destroy();
      return;
    }
    const refused = doors.refusal(req);
    if (refused) {
      req.resume();
      return sendAwsError(res, 'json', { status: 403, code: 'AccessDeniedException', message: refused });
    }
    readBody(req, MAX_STORE_REQUEST)
      .then((body) => {
        if (body === undefined) return void res.writeHead(413).end();
        return serve(options, req, res, body, listener);
      })
      .catch(() => {
        if (!req.socket.destroyed) req.socket.destroy();
      });
  };
}

async function serve(
  options: StoreDoorOptions,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  listener: RequestListener,
): Promise<void> {
  const { calls, faults, model, log } = options;
  // GET answers DynamoDB's health check (as AWS does, unsigned); every operation is a POST.
  if (req.method === 'POST' && (await calls.authenticate(req, res, SIGNING, body)) === undefined) return;
  const functionId = calls.principal(req);
  const target = String(req.headers['x-amz-target'] ?? '');
  const operation = target.startsWith('DynamoDB_') ? target.slice(target.indexOf('.') + 1) : undefined;
  if (functionId !== undefined && operation !== undefined) {
    const input = parsed(body);
    const denied = input && calls.denial(functionId, dynamodbCalls(model, operation, input));
    if (denied) return sendAwsError(res, 'json', { status: 400, code: 'AccessDeniedException', message: denied, messageKey: 'Message' });
    const fault = faults.dynamodbFault(req.headers, functionId);
    if (fault) return sendAwsError(res, 'json', FAULTS[fault]);
  }
  try {
    // Without the Origin header (a page of this runtime's own), dynalite adds no
    // Access-Control-Allow-Origin: * to its answer.
    listener(replay(req, body, ['origin']), res);
  } catch (e: unknown) {
    log.warn(`DynamoDB store: ${(e as Error).message}`);
    sendAwsError(res, 'json', FAULTS.error);
  }
}

/** The request's JSON, or undefined when it is not JSON (the store answers SerializationException). */
function parsed(body: Buffer): Record<string, unknown> | undefined {
  try {
    return JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
