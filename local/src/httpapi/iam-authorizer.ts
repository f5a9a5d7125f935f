/**
 * An HTTP API route's AWS_IAM authorization, as API Gateway checks it: the request must be
 * SigV4-signed (service `execute-api`, any region) with credentials the runtime handed out, the
 * signature recomputed exactly as for @connections (local/src/iam/sigv4.ts); a function's own
 * credentials must also be allowed `execute-api:Invoke` on the route by its policies (local IAM,
 * `--iam`), while the tools' `local` key may invoke everything. What is refused is answered 403
 * with API Gateway's message; what is allowed becomes `requestContext.authorizer.iam`.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { accessKeyIdFor, LOCAL_CREDENTIALS, type LocalIam } from '../iam/iam.js';
import { verifySigV4, type SigV4Problem } from '../iam/sigv4.js';
import type { TemplateModel } from '../template/template.js';
import type { IamIdentity } from './events.js';
import { gatewayAnswer, type HttpAnswer } from './results.js';

export type IamVerdict = { identity: IamIdentity } | { refusal: HttpAnswer; reason: string };

/** x-amzn-errortype of each refusal; an unsigned request is only "Forbidden", as HTTP APIs say it. */
const ERROR_TYPES: Record<SigV4Problem, string> = {
  MissingAuthenticationToken: 'ForbiddenException',
  IncompleteSignature: 'IncompleteSignatureException',
  UnrecognizedClient: 'UnrecognizedClientException',
  InvalidSignature: 'InvalidSignatureException',
};

/** An IAM unique id shaped like AWS's (AIDA… for a user, AROA… for a role), stable for a name. */
function uniqueId(kind: 'AIDA' | 'AROA', name: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const digest = createHash('sha256').update(`${kind}:${name}`).digest();
  return kind + Array.from(digest.subarray(0, 17), (b) => alphabet[b % alphabet.length]).join('');
}

export class IamAuthorizer {
  private readonly warned = new Set<string>();

  constructor(
    private readonly model: TemplateModel,
    private readonly iam: LocalIam,
    private readonly warn: (message: string) => void,
  ) {}

  /** The ARN IAM authorizes: arn:aws:execute-api:<region>:<account>:<apiId>/<stage>/<METHOD>/<path>. */
  routeArn(apiId: string, stage: string, method: string, path: string): string {
    const { partition, region, accountId } = this.model.pseudo;
    return `arn:${partition}:execute-api:${region}:${accountId}:${apiId}/${stage}/${method}/${path.replace(/^\//, '')}`;
  }

  /** Who signed the request, as requestContext.authorizer.iam names them. */
  identity(accessKeyId: string): IamIdentity {
    const { partition, accountId } = this.model.pseudo;
    const functionId = [...this.iam.roles.keys()].find((id) => accessKeyIdFor(id) === accessKeyId);
    if (functionId === undefined) {
      const userId = uniqueId('AIDA', accessKeyId);
      const user = accessKeyId === LOCAL_CREDENTIALS.accessKeyId ? 'local' : accessKeyId;
      return {
        accessKey: accessKeyId,
        accountId,
        callerId: userId,
        cognitoIdentity: null,
        principalOrgId: null,
        userArn: `arn:${partition}:iam::${accountId}:user/${user}`,
        userId,
      };
    }
    const session = this.model.functions.get(functionId)?.functionName ?? functionId;
    const userId = `${uniqueId('AROA', functionId)}:${session}`;
    return {
      accessKey: accessKeyId,
      accountId,
      callerId: userId,
      cognitoIdentity: null,
      principalOrgId: null,
      userArn: this.iam.callerArn(functionId),
      userId,
    };
  }

  async authorize(req: IncomingMessage, body: Buffer, resource: string): Promise<IamVerdict> {
    const verdict = await verifySigV4(req, body, { service: 'execute-api', secretOf: (key) => this.iam.secretOf(key) });
    if (!('accessKeyId' in verdict)) {
      const message = verdict.problem === 'MissingAuthenticationToken' ? 'Forbidden' : verdict.message;
      const reason = verdict.problem === 'MissingAuthenticationToken' ? 'not signed' : `${verdict.problem}: ${verdict.message}`;
      return { refusal: gatewayAnswer(403, message, { 'x-amzn-errortype': ERROR_TYPES[verdict.problem] }), reason };
    }
    const functionId = this.iam.principal(req.headers.authorization, req.url);
    if (functionId !== undefined) {
      const action = 'execute-api:Invoke';
      const decision = this.iam.authorize(functionId, [{ action, resource }]);
      if (decision.denied && !this.warned.has(`${functionId} ${resource}`)) {
        this.warned.add(`${functionId} ${resource}`);
        this.warn(`IAM: ${functionId} ${decision.enforced ? 'was denied' : 'would be denied (audit)'} ${action} on ${resource}`);
      }
      if (!decision.allowed) {
        return {
          refusal: gatewayAnswer(403, 'Forbidden', { 'x-amzn-errortype': 'AccessDeniedException' }),
          reason: `${functionId} may not ${action}`,
        };
      }
    }
    return { identity: this.identity(verdict.accessKeyId) };
  }
}
