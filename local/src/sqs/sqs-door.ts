/**
 * SQS's door (front-door/aws-calls.ts does what every service's door does): a request in SQS's
 * JSON protocol is read once, its signature verified, its operation and body parsed, and a
 * function's call authorized as IAM names it (a batch as its single form, on the queue's ARN);
 * then the queues (sqs.ts) answer it. The event source mappings' own calls (ReceiveMessage,
 * DeleteMessage with the function's role) are authorized here too (`pollerAuthorization`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendAwsError, sendJson } from '../core/http.js';
import type { AwsCalls, Signing } from '../front-door/aws-calls.js';
import type { HttpService } from '../front-door/registry.js';
import type { TemplateModel } from '../template/template.js';
import type { LocalSqs } from './sqs.js';

/** SQS answers a request it cannot authenticate with 403 (400 for a malformed signature) and the query-compatible code the SDK reads. */
const SIGNING: Signing = {
  service: 'sqs',
  protocol: 'json',
  errors: {
    MissingAuthenticationToken: { status: 403, code: 'MissingAuthenticationTokenException', queryCode: 'MissingAuthenticationToken' },
    IncompleteSignature: { status: 400, code: 'IncompleteSignatureException', queryCode: 'IncompleteSignature' },
    UnrecognizedClient: { status: 403, code: 'UnrecognizedClientException', queryCode: 'InvalidClientTokenId' },
    InvalidSignature: { status: 403, code: 'InvalidSignatureException', queryCode: 'SignatureDoesNotMatch' },
  },
};

const MAX_SQS_REQUEST = 2 * 1024 * 1024;

/** IAM's action for an SQS API operation (a batch is authorized as its single form). */
export function sqsAction(operation: string): string {
  const single: Record<string, string> = {
    SendMessageBatch: 'SendMessage',
    DeleteMessageBatch: 'DeleteMessage',
    ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
  };
  return `sqs:${single[operation] ?? operation}`;
}

export function queueArn(model: TemplateModel, queueName: string): string {
  const { partition, region, accountId } = model.pseudo;
  return `arn:${partition}:sqs:${region}:${accountId}:${queueName}`;
}

export function sqsDoor(model: TemplateModel, sqs: LocalSqs, calls: AwsCalls): HttpService {
  return {
    name: 'sqs',
    matches: (req) => sqs.matches(req),
    async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const body = await readBody(req, MAX_SQS_REQUEST);
      if ((await calls.authenticate(req, res, SIGNING, body)) === undefined) return;
      if (body === undefined) return sendJson(res, 413, { message: 'Request too large' });
      const operation = String(req.headers['x-amz-target'] ?? '').slice('AmazonSQS.'.length);
      let input: Record<string, unknown> | Error;
      try {
        input = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
      } catch (error: unknown) {
        input = error as Error;
      }
      const functionId = calls.principal(req);
      if (functionId !== undefined && !(input instanceof Error)) {
        const queueName =
          String(input.QueueUrl ?? '')
            .split('/')
            .pop() || String(input.QueueName ?? '');
        const resource = operation === 'ListQueues' || !queueName ? '*' : queueArn(model, queueName);
        const denied = calls.denial(functionId, [{ action: sqsAction(operation), resource }]);
        if (denied)
          return sendAwsError(res, 'json', { status: 403, code: 'AccessDeniedException', queryCode: 'AccessDenied', message: denied });
      }
      return sqs.handle(operation, input, res);
    },
  };
}

/** What a Lambda event source mapping does with the function's role (ReceiveMessage, DeleteMessage, ...): true when allowed. */
export function pollerAuthorization(model: TemplateModel, calls: AwsCalls) {
  return (functionId: string, action: string, queueName: string): boolean =>
    calls.denial(functionId, [{ action, resource: queueArn(model, queueName) }]) === undefined;
}
