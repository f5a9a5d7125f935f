/**
 * The API Gateway Management API of the local stage, on the runtime's own port:
 * POST/GET/DELETE /<stage>/@connections/{connectionId}. Status codes, error types
 * (x-amzn-errortype) and bodies are AWS's, so @aws-sdk/client-apigatewaymanagementapi returns
 * the same results and raises the same typed errors (GoneException, ...) as against AWS.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isUtf8 } from 'node:buffer';
import type { Connection } from './websocket-server.js';
import { readBody } from './http-body.js';

/** What the Management API needs of the WebSocket side (WebSocketGateway). */
export interface ConnectionRegistry {
  /** The connection if it can receive posts, else undefined (gone). */
  open(connectionId: string): Connection | undefined;
  close(conn: Connection, code: number, reason: string): void;
}

export interface ManagementApiOptions {
  stage: string;
  gateway: ConnectionRegistry;
  /** Largest POST payload (API Gateway: 128 KB). */
  maxPayloadBytes: number;
}

function reply(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
  };
  if (errorType) headers['x-amzn-errortype'] = errorType;
  res.writeHead(status, headers).end(text);
}

/** AWS answers an unknown or closed connection with 410, x-amzn-errortype and an empty body. */
const gone = (res: ServerResponse): void => reply(res, 410, undefined, 'GoneException');


export class ManagementApi {
  private readonly prefix: string;

  constructor(private readonly options: ManagementApiOptions) {
    this.prefix = `/${options.stage}/@connections`;
  }

  /** True for the requests this API serves. */
  matches(pathname: string): boolean {
    return pathname === this.prefix || pathname.startsWith(`${this.prefix}/`);
  }

  async handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    const raw = pathname.slice(this.prefix.length + 1);
    if (!raw || raw.includes('/')) return reply(res, 403, { message: 'Forbidden' }, 'ForbiddenException');
    const connectionId = decodeURIComponent(raw);
    const { gateway } = this.options;
    switch (req.method) {
      case 'POST': {
        const body = await readBody(req, this.options.maxPayloadBytes);
        if (body === undefined) {
          return reply(res, 413, { message: 'Request entity too large' }, 'PayloadTooLargeException');
        }
        const conn = gateway.open(connectionId);
        if (!conn) return gone(res);
        conn.ws.send(body, { binary: !isUtf8(body) });
        return reply(res, 200, undefined);
      }
      case 'GET': {
        req.resume();
        const conn = gateway.open(connectionId);
        if (!conn) return gone(res);
        // The wire names (jsonName) of GetConnectionResponse; the SDK turns them into
        // { ConnectedAt: Date, Identity: { SourceIp, UserAgent }, LastActiveAt: Date }.
        return reply(res, 200, {
          connectedAt: new Date(conn.connectedAt).toISOString(),
          identity: { sourceIp: conn.sourceIp, userAgent: conn.userAgent ?? null },
          lastActiveAt: new Date(conn.lastActiveAt).toISOString(),
        });
      }
      case 'DELETE': {
        req.resume();
        const conn = gateway.open(connectionId);
        if (!conn) return gone(res);
        gateway.close(conn, 1000, '');
        res.writeHead(204, { 'x-amzn-requestid': randomUUID() }).end();
        return;
      }
      default:
        req.resume();
        return reply(res, 403, { message: 'Forbidden' }, 'ForbiddenException');
    }
  }
}
