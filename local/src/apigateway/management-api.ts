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
import { readBody, sendAwsError, sendJson } from '../core/http.js';

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
  /**
   * Most bytes waiting to be sent to one connection (a client that does not read): past it, a
   * POST is refused with 429 LimitExceededException, as API Gateway refuses posts to a client
   * whose buffer is full. Unbounded when not given.
   */
  maxBufferedBytes?: number;
}

const fail = (res: ServerResponse, status: number, code: string, message?: string): void =>
  sendAwsError(res, 'rest-json', { status, code, message });

const gone = (res: ServerResponse): void => fail(res, 410, 'GoneException');

/** A POST payload over 128 KB. */
export const payloadTooLarge = (res: ServerResponse): void => fail(res, 413, 'PayloadTooLargeException', 'Request entity too large');

export class ManagementApi {
  private readonly prefix: string;

  constructor(private readonly options: ManagementApiOptions) {
    this.prefix = `/${options.stage}/@connections`;
  }

  /** True for the requests this API serves. */
  matches(pathname: string): boolean {
    return pathname === this.prefix || pathname.startsWith(`${this.prefix}/`);
  }

  /** Answers one request; `read`: its body when the caller has read it already (its door, management-door.ts, does). */
  async handle(req: IncomingMessage, res: ServerResponse, pathname: string, read?: Buffer): Promise<void> {
    const raw = pathname.slice(this.prefix.length + 1);
    if (!raw || raw.includes('/')) return fail(res, 403, 'ForbiddenException', 'Forbidden');
    let connectionId: string;
    try {
      connectionId = decodeURIComponent(raw);
    } catch {
      req.resume();
      return fail(res, 400, 'BadRequestException', `Invalid connection id '${raw}': malformed percent-encoding`);
    }
    const { gateway, maxBufferedBytes } = this.options;
    switch (req.method) {
      case 'POST': {
        const body = read ?? (await readBody(req, this.options.maxPayloadBytes));
        if (body === undefined || body.length > this.options.maxPayloadBytes) return payloadTooLarge(res);
        const conn = gateway.open(connectionId);
        if (!conn) return gone(res);
        if (maxBufferedBytes !== undefined && conn.ws.bufferedAmount >= maxBufferedBytes) {
          return fail(res, 429, 'LimitExceededException', 'The WebSocket client side buffer is full');
        }
        conn.ws.send(body, { binary: !isUtf8(body) });
        return sendJson(res, 200, undefined);
      }
      case 'GET': {
        req.resume();
        const conn = gateway.open(connectionId);
        if (!conn) return gone(res);
        // The wire names (jsonName) of GetConnectionResponse; the SDK turns them into
        // { ConnectedAt: Date, Identity: { SourceIp, UserAgent }, LastActiveAt: Date }.
        return sendJson(res, 200, {
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
        return fail(res, 403, 'ForbiddenException', 'Forbidden');
    }
  }
}
