/**
 * What every AWS API the runtime plays does to a request before serving it, whatever the service:
 * its SigV4 signature verified (iam/sigv4.ts: unsigned, foreign credentials or a wrong signature
 * are refused as the service refuses them, from the service's own table of answers), the caller
 * told apart by its credentials (iam/iam.ts), and the call, named as the service names it for IAM
 * (action and resource ARN), evaluated and recorded. Each service's door (dynamodb/store-door.ts,
 * apigateway/management-door.ts, sqs/sqs-door.ts) brings what is its own: how its requests are
 * read, how IAM names them, how it answers a denial, the faults it can be asked for.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import type { RuntimeLog } from '../core/log.js';
import { sendAwsError, type AwsError, type AwsProtocol } from '../core/http.js';
import type { LocalIam } from '../iam/iam.js';
import { verifySigV4, type SigV4Problem } from '../iam/sigv4.js';

/** One (action, resource ARN) pair IAM evaluates. */
export interface AwsCall {
  action: string;
  resource: string;
}

/** How a service is signed for and how it answers a request it cannot authenticate. */
export interface Signing {
  /** The SigV4 signing name: dynamodb, execute-api, sqs. */
  service: string;
  protocol: AwsProtocol;
  errors: Record<SigV4Problem, AwsError>;
}

export class AwsCalls {
  private readonly warned = new Set<string>();

  constructor(
    private readonly iam: LocalIam,
    private readonly log: RuntimeLog,
  ) {}

  /**
   * Verifies the request's signature: the caller's access key id, or undefined when the request
   * is refused (and answered as `signing` says). `body` undefined: too long to have been read.
   */
  async authenticate(req: IncomingMessage, res: ServerResponse, signing: Signing, body: Buffer | undefined): Promise<string | undefined> {
    const verdict = await verifySigV4(req, body ?? Buffer.alloc(0), {
      service: signing.service,
      secretOf: (key) => this.iam.secretOf(key),
      bodyUnavailable: body === undefined,
    });
    if ('accessKeyId' in verdict) return verdict.accessKeyId;
    const shape = signing.errors[verdict.problem];
    sendAwsError(res, signing.protocol, { ...shape, message: shape.message ?? verdict.message });
    return undefined;
  }

  /** The template's function that signed the request, or undefined for any other caller (a tool, a test). */
  principal(req: IncomingMessage): string | undefined {
    return this.iam.principal(req.headers.authorization, req.url);
  }

  /**
   * Evaluates and records a call that needs every pair: undefined when it may go on, else AWS's
   * AccessDenied message for the first pair denied. Each denied (function, action, resource) is
   * told once in the log; every one is recorded (iam.denied()).
   */
  denial(functionId: string, calls: AwsCall[]): string | undefined {
    const decision = this.iam.authorize(functionId, calls);
    const denied = decision.denied;
    if (denied) {
      const key = `${functionId} ${denied.action} ${denied.resource}`;
      if (!this.warned.has(key)) {
        this.warned.add(key);
        this.log.warn(
          `IAM: ${functionId} ${decision.enforced ? 'was denied' : 'would be denied (audit)'} ${denied.action} on ${denied.resource}`,
        );
      }
    }
    if (decision.allowed || !denied) return undefined;
    return `User: ${this.iam.callerArn(functionId)} is not authorized to perform: ${denied.action} on resource: ${denied.resource} ${decision.reason ?? ''}`;
  }
}

/** A stand-in for `req` whose body is `body` (less the headers `without`), for handlers that read the request themselves. */
export function replay(req: IncomingMessage, body: Buffer, without: string[] = []): IncomingMessage {
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
