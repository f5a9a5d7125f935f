/**
 * The Management API's door (front-door/aws-calls.ts does what every service's door does): a
 * request to /<stage>/@connections/<id> is read once, its signature verified, a function's call
 * authorized as IAM names it (execute-api:ManageConnections on the connection's ARN), and a post
 * delayed or faulted as asked; then the Management API (management-api.ts) answers it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendAwsError, type AwsError } from '../core/http.js';
import type { AwsCalls, Signing } from '../front-door/aws-calls.js';
import type { HttpService } from '../front-door/registry.js';
import type { Faults, PostFault } from '../faults/faults.js';
import type { TemplateModel } from '../template/template.js';
import { payloadTooLarge, type ManagementApi } from './management-api.js';
import type { Connection } from './websocket-server.js';

/** API Gateway answers a request it cannot authenticate with 403 and x-amzn-errortype. */
const SIGNING: Signing = {
  service: 'execute-api',
  protocol: 'rest-json',
  errors: {
    MissingAuthenticationToken: { status: 403, code: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' },
    IncompleteSignature: { status: 403, code: 'IncompleteSignatureException' },
    UnrecognizedClient: { status: 403, code: 'UnrecognizedClientException' },
    InvalidSignature: { status: 403, code: 'InvalidSignatureException' },
  },
};

/** What the Management API answers for each fault injected into a post. */
const FAULTS: Record<PostFault, AwsError> = {
  gone: { status: 410, code: 'GoneException' },
  throttle: { status: 429, code: 'LimitExceededException', message: 'Too Many Requests' },
  error: { status: 500, code: 'InternalServerErrorException', message: 'Internal server error' },
};

export interface ManagementDoorOptions {
  model: TemplateModel;
  api: ManagementApi;
  calls: AwsCalls;
  faults: Faults;
  /** The open connection with this id (for a 410 fault, which drops it). */
  connection(connectionId: string): Connection | undefined;
  /** Largest @connections POST payload (API Gateway: 128 KB). */
  maxPostBytes: number;
}

/** arn:aws:execute-api:<region>:<account>:<apiId>/<stage>/<METHOD>/@connections/<id> */
export function connectionArn(model: TemplateModel, method: string, connectionId: string): string {
  const { partition, region, accountId } = model.pseudo;
  return `arn:${partition}:execute-api:${region}:${accountId}:${model.apiId}/${model.stage}/${method}/@connections/${connectionId}`;
}

export function managementDoor(options: ManagementDoorOptions): HttpService {
  const { model, api, calls, faults } = options;
  const prefix = `/${model.stage}/@connections/`;
  return {
    name: 'management-api',
    matches: (_req, pathname) => api.matches(pathname),
    async handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
      const body = await readBody(req, options.maxPostBytes);
      if ((await calls.authenticate(req, res, SIGNING, body)) === undefined) return;
      if (body === undefined) return payloadTooLarge(res);
      const functionId = calls.principal(req);
      const connectionId = connectionIdOf(pathname.slice(prefix.length));
      if (functionId !== undefined && connectionId !== undefined) {
        const method = String(req.method ?? 'GET').toUpperCase();
        const denied = calls.denial(functionId, [
          { action: 'execute-api:ManageConnections', resource: connectionArn(model, method, connectionId) },
        ]);
        if (denied)
          return sendAwsError(res, 'rest-json', { status: 403, code: 'AccessDeniedException', message: denied, messageKey: 'Message' });
        if (method === 'POST') {
          const latencyMs = faults.postLatencyMs();
          if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
          const conn = options.connection(connectionId);
          const fault = conn ? faults.postFault(req.headers, functionId) : undefined;
          if (fault && conn) {
            // The connection is really gone: dropped without a close handshake, as a vanished client.
            if (fault === 'gone') conn.ws.terminate();
            return sendAwsError(res, 'rest-json', FAULTS[fault]);
          }
        }
      }
      return api.handle(req, res, pathname, body);
    },
  };
}

/** The connection id of the path's last segment, or undefined when it is not one (the API answers 403). */
function connectionIdOf(raw: string): string | undefined {
  try {
    return raw && !raw.includes('/') ? decodeURIComponent(raw) : undefined;
  } catch {
    return undefined;
  }
}
