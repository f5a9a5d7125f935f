/**
 * The runtime's one HTTP port, routed: every request passes the doors (doors.ts) first, then
 * goes to the token issuer, SQS, the Management API (each AWS API through the front door:
 * SigV4, IAM, faults), the template's HTTP APIs (httpapi/), or the app's page; the WebSocket
 * API's stage path answers 426 to plain HTTP (its upgrades are the gateway's). Until every
 * service exists, 503.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ManagementApi } from './apigateway/management-api.js';
import type { WebSocketGateway } from './apigateway/websocket-server.js';
import type { AwsFrontDoor } from './aws-gateway.js';
import { noIssuer, TOKEN_PATH, type LocalTokenIssuer } from './cognito/token-issuer.js';
import type { Doors } from './doors.js';
import type { LocalHttpApis } from './httpapi/http-api.js';
import { sendAwsError } from './http.js';
import type { RuntimeLog } from './log.js';
import { servePage, type PageFile } from './page.js';
import type { LocalSqs } from './sqs/sqs.js';

/** The services behind the port, filled in as they start. */
export interface Services {
  aws?: AwsFrontDoor;
  gateway?: WebSocketGateway;
  management?: ManagementApi;
  sqs?: LocalSqs;
  http?: LocalHttpApis;
  page?: Map<string, PageFile>;
  issuer?: LocalTokenIssuer;
  /** http://<host>:<port>, once listening. */
  origin?: string;
}

export function requestHandler(services: Services, doors: Doors, log: RuntimeLog) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const refused = doors.refusal(req);
    if (refused) {
      req.resume();
      return sendAwsError(res, 'rest-json', { status: 403, code: 'ForbiddenException', message: `Forbidden: ${refused}` });
    }
    const { aws, gateway, management, sqs, http, page, issuer, origin } = services;
    if (!aws || !gateway || !management || !sqs || !http || !page || !origin) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('Starting\n');
      return;
    }
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    const handled = issuer?.matches(pathname)
      ? issuer.handle(req, res, pathname, origin)
      : pathname === TOKEN_PATH
        ? Promise.resolve(noIssuer(req, res))
        : sqs.matches(req)
          ? aws.sqs(req, res, (operation, input) => sqs.handle(operation, input, res))
          : management.matches(pathname)
            ? aws.management(req, res, pathname, (body) => management.handle(req, res, pathname, body))
            : gateway.isStagePath(pathname)
              ? Promise.resolve(void res.writeHead(426, { 'content-type': 'application/json' }).end('{"message":"Upgrade Required"}'))
              : http.matches(req, pathname)
                ? http.handle(req, res, pathname)
                : Promise.resolve(servePage(page, req, res, pathname));
    handled.catch((e: unknown) => {
      log.warn(`${req.method} ${req.url}: ${(e as Error).message}`);
      sendAwsError(res, 'rest-json', { status: 500, code: 'InternalServerErrorException', message: 'Internal server error' });
    });
  };
}
