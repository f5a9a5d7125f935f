/**
 * The front door of the AWS services the local runtime plays: every request to the embedded
 * DynamoDB, to the Management API (@connections) and to SQS passes here first. Its SigV4
 * signature is verified (local/src/iam/sigv4.ts: unsigned, foreign credentials or a wrong signature are
 * refused as each service refuses them); the caller is told apart by its credentials
 * (local/src/iam/iam.ts), the call is named as IAM names it (action and resource ARN), evaluated and
 * recorded, and the faults asked for (local/src/faults/faults.ts) are injected; then the request goes on,
 * its body replayed, to the service that serves it. The store's listener also keeps foreign
 * Host and Origin out here (local/src/doors.ts; the runtime's own port does so in local/src/router.ts).
 *
 * It also keeps the store's own request handling from taking the process down: dynalite throws
 * from a request stream's 'error' (a client that resets mid-request), so it only ever sees a
 * request whose body has been read in full.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import type { Doors } from './doors.js';
import type { DynamoDbFault, Faults, PostFault } from './faults/faults.js';
import type { LocalIam } from './iam/iam.js';
import type { RuntimeLog } from './log.js';
import { payloadTooLarge } from './apigateway/management-api.js';
import { dynamodbCalls, sqsAction } from './iam/actions.js';
import { verifySigV4, type SigV4Problem } from './iam/sigv4.js';
import type { TemplateModel } from './template/template.js';
import type { Connection } from './apigateway/websocket-server.js';
import { readBody, sendAwsError, sendJson, type AwsError, type AwsProtocol } from './http.js';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export interface FrontDoorOptions {
  model: TemplateModel;
  iam: LocalIam;
  faults: Faults;
  log: RuntimeLog;
  /** The open connection with this id (for a 410 fault, which drops it). */
  connection(connectionId: string): Connection | undefined;
  /** Host and Origin checks for the store's listener. */
  doors: Doors;
  /** Largest @connections POST payload (API Gateway: 128 KB). */
  maxPostBytes: number;
}

/** The services behind this door, by their SigV4 signing name. */
type Service = 'dynamodb' | 'execute-api' | 'sqs';

const PROTOCOL: Record<Service, AwsProtocol> = { 'execute-api': 'rest-json', dynamodb: 'json', sqs: 'json' };

/**
 * How each service answers a request it cannot authenticate: API Gateway 403 with
 * x-amzn-errortype, DynamoDB 400 with its JSON __type, SQS 403 (400 for a malformed signature)
 * with the query-compatible code the SDK reads from x-amzn-query-error.
 */
const SIGV4_ERRORS: Record<Service, Record<SigV4Problem, AwsError>> = {
  'execute-api': {
    MissingAuthenticationToken: { status: 403, code: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' },
    IncompleteSignature: { status: 403, code: 'IncompleteSignatureException' },
    UnrecognizedClient: { status: 403, code: 'UnrecognizedClientException' },
    InvalidSignature: { status: 403, code: 'InvalidSignatureException' },
  },
  dynamodb: {
    MissingAuthenticationToken: { status: 400, code: 'MissingAuthenticationTokenException' },
    IncompleteSignature: { status: 400, code: 'IncompleteSignatureException' },
    UnrecognizedClient: { status: 400, code: 'UnrecognizedClientException' },
    InvalidSignature: { status: 400, code: 'InvalidSignatureException' },
  },
  sqs: {
    MissingAuthenticationToken: { status: 403, code: 'MissingAuthenticationTokenException', queryCode: 'MissingAuthenticationToken' },
    IncompleteSignature: { status: 400, code: 'IncompleteSignatureException', queryCode: 'IncompleteSignature' },
    UnrecognizedClient: { status: 403, code: 'UnrecognizedClientException', queryCode: 'InvalidClientTokenId' },
    InvalidSignature: { status: 403, code: 'InvalidSignatureException', queryCode: 'SignatureDoesNotMatch' },
  },
};

/** What DynamoDB answers for each fault the runtime injects, and for a store that fails. */
const DYNAMODB_FAULTS: Record<DynamoDbFault, AwsError> = {
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

/** What the Management API answers for each fault injected into a post. */
const POST_FAULTS: Record<PostFault, AwsError> = {
  gone: { status: 410, code: 'GoneException' },
  throttle: { status: 429, code: 'LimitExceededException', message: 'Too Many Requests' },
  error: { status: 500, code: 'InternalServerErrorException', message: 'Internal server error' },
};

/** dynalite's limit on a request body. */
const MAX_STORE_REQUEST = 16 * 1024 * 1024;
const MAX_SQS_REQUEST = 2 * 1024 * 1024;

type Headers = Record<string, string | string[] | undefined>;

/** A stand-in for `req` whose body is `body` (less the headers `without`), for handlers that read the request themselves. */
function replay(req: IncomingMessage, body: Buffer, without: string[] = []): IncomingMessage {
  const copy = new PassThrough();
  const headers =
    without.length === 0 ? req.headers : Object.fromEntries(Object.entries(req.headers).filter(([name]) => !without.includes(name)));
  Object.assign(copy, {
    headers,
    rawHeaders: req.rawHeaders,
    method: req.method,
    url: req.url,
    httpVersion: req.httpVersion,
    httpVersionMajor: req.httpVersionMajor,
    httpVersionMinor: req.httpVersionMinor,
    socket: req.socket,
    connection: req.socket,
  });
  copy.end(body);
  return copy as unknown as IncomingMessage;
}

export class AwsFrontDoor {
  private readonly warned = new Set<string>();

  constructor(private readonly options: FrontDoorOptions) {}

  queueArn(queueName: string): string {
    const { partition, region, accountId } = this.options.model.pseudo;
    return `arn:${partition}:sqs:${region}:${accountId}:${queueName}`;
  }

  /** arn:aws:execute-api:<region>:<account>:<apiId>/<stage>/<METHOD>/@connections/<id> */
  connectionArn(method: string, connectionId: string): string {
    const { model } = this.options;
    const { partition, region, accountId } = model.pseudo;
    return `arn:${partition}:execute-api:${region}:${accountId}:${model.apiId}/${model.stage}/${method}/@connections/${connectionId}`;
  }

  private deniedMessage(functionId: string, action: string, resource: string, reason: string): string {
    return `User: ${this.options.iam.callerArn(functionId)} is not authorized to perform: ${action} on resource: ${resource} ${reason}`;
  }

  /** Each denied (function, action, resource) is told once; every one is recorded (iam.denied()). */
  private warnDenied(functionId: string, action: string, resource: string, enforced: boolean): void {
    const key = `${functionId} ${action} ${resource}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.options.log.warn(`IAM: ${functionId} ${enforced ? 'was denied' : 'would be denied (audit)'} ${action} on ${resource}`);
  }

  /**
   * Verifies the request's signature: the caller's access key id, or undefined when the request
   * is refused (and answered as `service` answers it).
   */
  private async authenticate(
    req: IncomingMessage,
    res: ServerResponse,
    service: Service,
    body: Buffer | undefined,
  ): Promise<string | undefined> {
    const { iam } = this.options;
    const verdict = await verifySigV4(req, body ?? Buffer.alloc(0), {
      service,
      secretOf: (key) => iam.secretOf(key),
      bodyUnavailable: body === undefined,
    });
    if ('accessKeyId' in verdict) return verdict.accessKeyId;
    const shape = SIGV4_ERRORS[service][verdict.problem];
    sendAwsError(res, PROTOCOL[service], { ...shape, message: shape.message ?? verdict.message });
    return undefined;
  }

  /** Wraps the store's request listener (dynalite's). */
  wrapStore(listener: RequestListener): RequestListener {
    return (req, res) => {
      req.on('error', () => undefined);
      res.on('error', () => undefined);
      if (this.options.faults.storeIsDown()) {
        if (typeof req.socket.resetAndDestroy === 'function') req.socket.resetAndDestroy();
        else req.socket.destroy();
        return;
      }
      const refused = this.options.doors.refusal(req);
      if (refused) {
        req.resume();
        return sendAwsError(res, 'json', { status: 403, code: 'AccessDeniedException', message: refused });
      }
      readBody(req, MAX_STORE_REQUEST)
        .then((body) => {
          if (body === undefined) return void res.writeHead(413).end();
          return this.store(req, res, body, listener);
        })
        .catch(() => {
          if (!req.socket.destroyed) req.socket.destroy();
        });
    };
  }

  private async store(req: IncomingMessage, res: ServerResponse, body: Buffer, listener: RequestListener): Promise<void> {
    const { iam, faults, model } = this.options;
    // GET answers DynamoDB's health check (as AWS does, unsigned); every operation is a POST.
    if (req.method === 'POST' && (await this.authenticate(req, res, 'dynamodb', body)) === undefined) return;
    const functionId = iam.principal(req.headers.authorization, req.url);
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith('DynamoDB_') ? target.slice(target.indexOf('.') + 1) : undefined;
    if (functionId !== undefined && operation !== undefined) {
      let input: Record<string, unknown> | undefined;
      try {
        input = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        input = undefined; // the store answers SerializationException
      }
      if (input) {
        const decision = iam.authorize(functionId, dynamodbCalls(model, operation, input));
        if (decision.denied) this.warnDenied(functionId, decision.denied.action, decision.denied.resource, decision.enforced);
        if (!decision.allowed && decision.denied) {
          return sendAwsError(res, 'json', {
            status: 400,
            code: 'AccessDeniedException',
            message: this.deniedMessage(functionId, decision.denied.action, decision.denied.resource, decision.reason ?? ''),
            messageKey: 'Message',
          });
        }
      }
      const fault = faults.dynamodbFault(req.headers as Headers, functionId);
      if (fault) return this.dynamodbFault(res, fault);
    }
    try {
      // Without the Origin header (a page of this runtime's own), dynalite adds no
      // Access-Control-Allow-Origin: * to its answer.
      listener(replay(req, body, ['origin']), res);
    } catch (e: unknown) {
      this.options.log.warn(`DynamoDB store: ${(e as Error).message}`);
      sendAwsError(res, 'json', DYNAMODB_FAULTS.error);
    }
  }

  private dynamodbFault(res: ServerResponse, fault: DynamoDbFault): void {
    sendAwsError(res, 'json', DYNAMODB_FAULTS[fault]);
  }

  /** A Management API request (/<stage>/@connections/<id>) on its way to `next`, which gets it with its body, read here once. */
  async management(req: IncomingMessage, res: ServerResponse, pathname: string, next: (body: Buffer) => Promise<void>): Promise<void> {
    const { iam, faults, model } = this.options;
    const body = await readBody(req, this.options.maxPostBytes);
    if ((await this.authenticate(req, res, 'execute-api', body)) === undefined) return;
    if (body === undefined) return payloadTooLarge(res);
    const functionId = iam.principal(req.headers.authorization, req.url);
    const raw = pathname.slice(`/${model.stage}/@connections/`.length);
    let connectionId: string | undefined;
    try {
      connectionId = raw && !raw.includes('/') ? decodeURIComponent(raw) : undefined;
    } catch {
      connectionId = undefined;
    }
    if (functionId === undefined || connectionId === undefined) return next(body);
    const method = String(req.method ?? 'GET').toUpperCase();
    const action = 'execute-api:ManageConnections';
    const resource = this.connectionArn(method, connectionId);
    const decision = iam.authorize(functionId, [{ action, resource }]);
    if (decision.denied) this.warnDenied(functionId, action, resource, decision.enforced);
    if (!decision.allowed) {
      return sendAwsError(res, 'rest-json', {
        status: 403,
        code: 'AccessDeniedException',
        message: this.deniedMessage(functionId, action, resource, decision.reason ?? ''),
        messageKey: 'Message',
      });
    }
    if (method === 'POST') {
      const latencyMs = faults.postLatencyMs();
      if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
      const conn = this.options.connection(connectionId);
      const fault = conn ? faults.postFault(req.headers as Headers, functionId) : undefined;
      if (fault) return this.postFault(res, fault, conn as Connection);
    }
    return next(body);
  }

  private postFault(res: ServerResponse, fault: PostFault, conn: Connection): void {
    // The connection is really gone: dropped without a close handshake, as a vanished client.
    if (fault === 'gone') conn.ws.terminate();
    sendAwsError(res, 'rest-json', POST_FAULTS[fault]);
  }

  /**
   * An SQS (JSON protocol) request on its way to `next`, which gets its operation and its body
   * parsed here, once (or the parse error, which the queue answers).
   */
  async sqs(
    req: IncomingMessage,
    res: ServerResponse,
    next: (operation: string, input: Record<string, unknown> | Error) => void,
  ): Promise<void> {
    const { iam } = this.options;
    const body = await readBody(req, MAX_SQS_REQUEST);
    if ((await this.authenticate(req, res, 'sqs', body)) === undefined) return;
    if (body === undefined) return sendJson(res, 413, { message: 'Request too large' });
    const operation = String(req.headers['x-amz-target'] ?? '').slice('AmazonSQS.'.length);
    let input: Record<string, unknown> | Error;
    try {
      input = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
    } catch (error: unknown) {
      input = error as Error;
    }
    const functionId = iam.principal(req.headers.authorization, req.url);
    if (functionId === undefined || input instanceof Error) return next(operation, input);
    const queueName =
      String(input.QueueUrl ?? '')
        .split('/')
        .pop() || String(input.QueueName ?? '');
    const action = sqsAction(operation);
    const resource = operation === 'ListQueues' || !queueName ? '*' : this.queueArn(queueName);
    const decision = iam.authorize(functionId, [{ action, resource }]);
    if (decision.denied) this.warnDenied(functionId, action, resource, decision.enforced);
    if (!decision.allowed) {
      return sendAwsError(res, 'json', {
        status: 403,
        code: 'AccessDeniedException',
        queryCode: 'AccessDenied',
        message: this.deniedMessage(functionId, action, resource, decision.reason ?? ''),
      });
    }
    return next(operation, input);
  }

  /** What a Lambda event source mapping does with the function's role (ReceiveMessage, DeleteMessage, ...). */
  poller(functionId: string, action: string, queueName: string): boolean {
    const resource = this.queueArn(queueName);
    const decision = this.options.iam.authorize(functionId, [{ action, resource }]);
    if (decision.denied) this.warnDenied(functionId, action, resource, decision.enforced);
    return decision.allowed;
  }
}
