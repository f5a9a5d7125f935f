/**
 * The WebSocket side of the local API Gateway: the upgrade runs $connect (2xx accepts, anything
 * else refuses with that status; the handler's Sec-WebSocket-Protocol is what the client gets),
 * each text message is routed by the selection expression, $disconnect runs whoever closes, and
 * API Gateway's limits (frame and message size, binary frames, idle and total time) hold.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import {
  connectEvent,
  disconnectEvent,
  gatewayErrorFrame,
  gatewayId,
  messageEvent,
  type ConnectionInfo,
  type WebSocketEvent,
} from './events.js';
import {
  UNAUTHORIZED,
  authorizerEvent,
  authorizerVerdict,
  missingIdentitySources,
  type AuthorizerEvent,
  type AuthorizerVerdict,
} from './authorizer.js';
import { FrameGuard } from './frame-guard.js';
import type { ConnectionJournal } from './connection-journal.js';
import type { InvokeOutcome } from '../lambda/lambda-pool.js';
import type { Limits } from './limits.js';
import type { RuntimeLog } from '../core/log.js';
import { selectRoute } from './route-selection.js';
import type { AuthorizerModel, TemplateModel } from '../template/template.js';

export interface Connection extends ConnectionInfo {
  ws: WebSocket;
  lastActiveAt: number;
  /** Set when the server closes the connection: what $disconnect reports. */
  closing?: { code: number; reason: string };
  timers: { idle?: NodeJS.Timeout; max?: NodeJS.Timeout; kill?: NodeJS.Timeout };
}

export interface GatewayOptions {
  model: TemplateModel;
  limits: Limits;
  log: RuntimeLog;
  invoke(functionId: string, event: WebSocketEvent | AuthorizerEvent): Promise<InvokeOutcome>;
  /** The port the server listens on (X-Forwarded-Port). */
  port(): number;
  /** Stage throttling (local/src/apigateway/throttle.ts): false when the route's bucket is empty (429). */
  admit?(routeKey: string): boolean;
  /** Why an upgrade may not come in (a foreign Host or Origin, local/src/front-door/doors.ts), or undefined. */
  refusal?(req: IncomingMessage): string | undefined;
  /** With a data directory: where accepted connections are written down until their $disconnect has run. */
  journal?: ConnectionJournal;
}

function refuse(socket: Duplex, status: number, body: string): void {
  if (socket.destroyed) return;
  const text = STATUS_CODES[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function header(payload: unknown, name: string): string | undefined {
  if (!payload || typeof payload !== 'object') return undefined;
  const { headers, multiValueHeaders } = payload as { headers?: Record<string, unknown>; multiValueHeaders?: Record<string, unknown> };
  for (const source of [headers, multiValueHeaders]) {
    for (const [key, value] of Object.entries(source ?? {})) {
      if (key.toLowerCase() !== name.toLowerCase()) continue;
      const first = Array.isArray(value) ? value[0] : value;
      if (first !== undefined && first !== null) return String(first);
    }
  }
  return undefined;
}

const statusOf = (payload: unknown): number | undefined => {
  const code = payload && typeof payload === 'object' ? (payload as { statusCode?: unknown }).statusCode : undefined;
  return code === undefined || code === null ? undefined : Number(code);
};

export class WebSocketGateway {
  readonly connections = new Map<string, Connection>();
  private readonly wss: WebSocketServer;
  private readonly protocols = new WeakMap<IncomingMessage, string>();
  /** Connections whose socket has not closed yet (the registry drops them as soon as they close). */
  private readonly live = new Set<Connection>();
  private readonly disconnects = new Set<Promise<void>>();
  /** Connections told about once in the log for not reading. */
  private readonly full = new WeakSet<Connection>();

  constructor(private readonly options: GatewayOptions) {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: options.limits.messageBytes,
      handleProtocols: (_offered, req) => this.protocols.get(req) ?? false,
    });
  }

  private get stagePath(): string {
    return `/${this.options.model.stage}`;
  }

  /** True for the paths a WebSocket client connects to: /<stage>. */
  isStagePath(pathname: string): boolean {
    return pathname === this.stagePath || pathname === `${this.stagePath}/`;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const refused = this.options.refusal?.(req);
    if (refused) return refuse(socket, 403, JSON.stringify({ message: `Forbidden: ${refused}` }));
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!this.isStagePath(url.pathname)) return refuse(socket, 403, '{"message":"Forbidden"}');
    const key = req.headers['sec-websocket-key'];
    if (req.headers.upgrade?.toLowerCase() !== 'websocket' || !key) return refuse(socket, 400, '{"message":"Bad Request"}');
    void this.connect(req, socket, head, url);
  }

  private async connect(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): Promise<void> {
    const { model } = this.options;
    const info: ConnectionInfo = {
      connectionId: gatewayId(),
      connectedAt: Date.now(),
      sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
      userAgent: req.headers['user-agent'],
      domainName: req.headers.host ?? `127.0.0.1:${this.options.port()}`,
      stage: model.stage,
      apiId: model.apiId,
    };
    if (this.options.admit && !this.options.admit('$connect')) {
      this.options.log.info('$connect throttled: 429 Too Many Requests');
      return refuse(socket, 429, '{"message":"Too Many Requests"}');
    }
    const route = model.routes.get('$connect');
    if (route) {
      const requestId = gatewayId();
      const event = connectEvent(info, req, url, this.options.port(), requestId);
      if (route.authorizer) {
        const verdict = await this.authorize(route.authorizer, event, info.connectionId);
        if (!verdict.allowed) return refuse(socket, verdict.status, JSON.stringify({ message: verdict.message }));
        info.authorizer = verdict.context;
        event.requestContext.authorizer = verdict.context;
      }
      const outcome = await this.options.invoke(route.functionId, event);
      const status = outcome.error ? 502 : (statusOf(outcome.payload) ?? 200);
      const accepted = status >= 200 && status < 300;
      this.logInvocation('$connect', info.connectionId, route.functionId, outcome, accepted ? String(status) : `refused ${status}`);
      if (!accepted) {
        const body = outcome.error
          ? gatewayErrorFrame('Internal server error', info.connectionId, requestId)
          : String((outcome.payload as { body?: unknown }).body ?? '');
        return refuse(socket, status, body);
      }
      const protocol = header(outcome.payload, 'Sec-WebSocket-Protocol');
      if (protocol) this.protocols.set(req, protocol);
    }
    this.options.journal?.opened(info);
    if (socket.destroyed) {
      // The client left while $connect ran: API Gateway still reports the disconnect.
      this.disconnected(info, 1006, '');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.opened(ws, socket, info));
  }

  /** Runs a $connect's REQUEST authorizer as API Gateway does (local/src/apigateway/authorizer.ts). */
  private async authorize(authorizer: AuthorizerModel, connect: WebSocketEvent, connectionId: string): Promise<AuthorizerVerdict> {
    const missing = missingIdentitySources(authorizer.identitySource, connect);
    if (missing.length > 0) {
      this.options.log.info(`$connect ${connectionId}: refused 401, no ${missing.join(', ')} (${authorizer.logicalId} not invoked)`);
      return UNAUTHORIZED;
    }
    const { model } = this.options;
    const { partition, region, accountId } = model.pseudo;
    const methodArn = `arn:${partition}:execute-api:${region}:${accountId}:${model.apiId}/${model.stage}/$connect`;
    const outcome = await this.options.invoke(authorizer.functionId, authorizerEvent(connect, methodArn));
    const verdict = authorizerVerdict(outcome, methodArn);
    this.logInvocation(
      '$connect authorizer',
      connectionId,
      authorizer.functionId,
      outcome,
      verdict.allowed ? 'allowed' : `refused ${verdict.status}`,
    );
    return verdict;
  }

  private opened(ws: WebSocket, socket: Duplex, info: ConnectionInfo): void {
    const { limits } = this.options;
    const conn: Connection = { ...info, ws, lastActiveAt: Date.now(), timers: {} };
    this.connections.set(conn.connectionId, conn);
    this.live.add(conn);
    const guard = new FrameGuard(limits.frameBytes, () => this.close(conn, 1009, 'Message too big'));
    socket.prependListener('data', (chunk: Buffer) => guard.push(chunk));
    conn.timers.max = setTimeout(() => this.close(conn, 1001, 'Going away'), limits.maxConnectionMs).unref();
    this.resetIdle(conn);
    // ws closes the connection itself on protocol errors (a message over maxPayload, invalid
    // UTF-8, ...); $disconnect reports the code it closed with.
    ws.on('error', (e: Error & { code?: string }) => {
      const code = e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 1009 : e.code === 'WS_ERR_INVALID_UTF8' ? 1007 : 1002;
      conn.closing ??= { code, reason: code === 1009 ? 'Message too big' : '' };
      this.connections.delete(conn.connectionId);
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => this.message(conn, data, isBinary));
    ws.on('close', (code: number, reason: Buffer) => {
      Object.values(conn.timers).forEach((t) => clearTimeout(t));
      this.live.delete(conn);
      if (this.connections.get(conn.connectionId) === conn) this.connections.delete(conn.connectionId);
      this.disconnected(conn, conn.closing?.code ?? code, conn.closing?.reason ?? reason.toString());
    });
  }

  private resetIdle(conn: Connection): void {
    clearTimeout(conn.timers.idle);
    conn.timers.idle = setTimeout(() => this.close(conn, 1001, 'Going away'), this.options.limits.idleTimeoutMs).unref();
  }

  /** Closes a connection from the server side (limits, DeleteConnection, shutdown). */
  close(conn: Connection, code: number, reason: string): void {
    if (conn.closing || conn.ws.readyState !== WebSocket.OPEN) return;
    conn.closing = { code, reason };
    this.connections.delete(conn.connectionId);
    conn.ws.close(code, reason);
    // A client that never answers the close handshake is cut off, as API Gateway would.
    conn.timers.kill = setTimeout(() => conn.ws.terminate(), 2000).unref();
  }

  /** A connection that can receive posts, or undefined (gone). */
  open(connectionId: string): Connection | undefined {
    const conn = this.connections.get(connectionId);
    return conn && !conn.closing && conn.ws.readyState === WebSocket.OPEN ? conn : undefined;
  }

  private message(conn: Connection, data: Buffer, isBinary: boolean): void {
    if (conn.closing) return;
    if (isBinary) return this.close(conn, 1003, 'Unsupported data');
    conn.lastActiveAt = Date.now();
    this.resetIdle(conn);
    const { model } = this.options;
    const body = data.toString('utf8');
    const requestId = gatewayId();
    const routeKey = selectRoute(model.routeSelectionExpression, body, model.routes);
    const route = routeKey === undefined ? undefined : model.routes.get(routeKey);
    if (!route || routeKey === undefined) {
      this.options.log.info(`message on ${conn.connectionId}: no route and no $default: Forbidden`);
      return this.send(conn, gatewayErrorFrame('Forbidden', conn.connectionId, requestId));
    }
    if (this.options.admit && !this.options.admit(routeKey)) {
      return this.send(conn, gatewayErrorFrame('Too Many Requests', conn.connectionId, requestId));
    }
    void this.route(conn, routeKey, route.functionId, route.twoWay, body, requestId);
  }

  private async route(
    conn: Connection,
    routeKey: string,
    functionId: string,
    twoWay: boolean,
    body: string,
    requestId: string,
  ): Promise<void> {
    const event = messageEvent(conn, routeKey, body, requestId);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.send(conn, gatewayErrorFrame('Endpoint request timed out', conn.connectionId, requestId));
    }, this.options.limits.integrationTimeoutMs);
    const outcome = await this.options.invoke(functionId, event);
    clearTimeout(timer);
    const status = outcome.error ? 'Internal server error' : String(statusOf(outcome.payload) ?? 'ok');
    this.logInvocation(routeKey, conn.connectionId, functionId, outcome, status);
    if (timedOut) return;
    if (outcome.error) return this.send(conn, gatewayErrorFrame('Internal server error', conn.connectionId, requestId));
    const reply = (outcome.payload as { body?: unknown } | undefined)?.body;
    if (twoWay && reply !== undefined && reply !== null) this.send(conn, typeof reply === 'string' ? reply : JSON.stringify(reply));
  }

  /** The gateway's own frames (replies, errors); dropped for a client whose send buffer is full. */
  private send(conn: Connection, text: string): void {
    if (conn.closing || conn.ws.readyState !== WebSocket.OPEN) return;
    if (conn.ws.bufferedAmount >= this.options.limits.sendBufferBytes) {
      if (!this.full.has(conn))
        this.options.log.warn(`${conn.connectionId}: the client does not read; the gateway's frames to it are dropped`);
      this.full.add(conn);
      return;
    }
    conn.ws.send(text);
  }

  private disconnected(conn: ConnectionInfo, code: number, reason: string): Promise<void> {
    const route = this.options.model.routes.get('$disconnect');
    if (!route) {
      this.options.journal?.closed(conn.connectionId);
      return Promise.resolve();
    }
    const event = disconnectEvent(conn, code, reason, gatewayId());
    const done = this.options.invoke(route.functionId, event).then((outcome) => {
      this.logInvocation('$disconnect', conn.connectionId, route.functionId, outcome, outcome.error ? 'error' : `closed ${code}`);
      this.options.journal?.closed(conn.connectionId);
    });
    this.disconnects.add(done);
    void done.finally(() => this.disconnects.delete(done));
    return done;
  }

  /**
   * Ends the connections a runtime that stopped without closing them left behind (its process
   * was killed: none of their sockets survive), as API Gateway ends connections it loses: their
   * $disconnect runs, with 1006 (closed abnormally, no close frame), and the app forgets them.
   */
  async endOrphans(orphans: readonly ConnectionInfo[]): Promise<void> {
    if (orphans.length === 0) return;
    this.options.log.info(
      `$disconnect for ${orphans.length} connection(s) the previous run left open (its process stopped without closing them)`,
    );
    await Promise.all(orphans.map((info) => this.disconnected(info, 1006, '')));
  }

  private logInvocation(route: string, connectionId: string, functionId: string, outcome: InvokeOutcome, status: string): void {
    this.options.log.invocation({ route, connectionId, functionId, outcome, status });
  }

  /** Closes every connection (1001 Going away) and waits, briefly, for their $disconnect. */
  async shutdown(waitMs = 3000): Promise<void> {
    for (const conn of [...this.connections.values()]) this.close(conn, 1001, 'Going away');
    const deadline = Date.now() + waitMs;
    while ((this.live.size > 0 || this.disconnects.size > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const conn of this.live) conn.ws.terminate();
    this.wss.close();
  }
}
