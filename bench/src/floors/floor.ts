/**
 * The floor: the least any fan-out over WebSockets can cost here. A minimal WebSocket server
 * with a minimal @connections endpoint (POST /<stage>/@connections/{id} writes the body to that
 * socket; 410 for unknown ids), so the real SDK's PostToConnectionCommand can reach the same
 * kind of sockets the local runtime serves, without anything else in the way; and a bare
 * `ws` broadcast loop over the same sockets.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface FloorServer {
  /** ws://127.0.0.1:<port>/floor */
  wsUrl: string;
  /** http://127.0.0.1:<port>/floor: the endpoint of an ApiGatewayManagementApiClient */
  connectionsUrl: string;
  /** Ids of the open connections, in connection order. */
  ids(): string[];
  /** The bare broadcast: ws.send to every open connection, in one synchronous loop. */
  broadcast(data: Buffer): void;
  close(): Promise<void>;
}

const STAGE = 'floor';
const PREFIX = `/${STAGE}/@connections/`;

export async function startFloorServer(): Promise<FloorServer> {
  const sockets = new Map<string, WebSocket>();
  let nextId = 0;

  const post = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const id = decodeURIComponent((req.url ?? '').slice(PREFIX.length));
      const ws = sockets.get(id);
      if (req.method !== 'POST' || !ws) {
        res.writeHead(410, { 'x-amzn-errortype': 'GoneException', 'content-length': 0 }).end();
        return;
      }
      ws.send(Buffer.concat(chunks), { binary: false });
      res.writeHead(200, { 'content-length': 0 }).end();
    });
  };
  const server = createServer((req, res) => {
    if (req.url?.startsWith(PREFIX)) post(req, res);
    else res.writeHead(404, { 'content-length': 0 }).end();
  });
  server.keepAliveTimeout = 65_000;
  const wss = new WebSocketServer({ server, path: `/${STAGE}`, perMessageDeflate: false, clientTracking: false });
  wss.on('connection', (ws) => {
    const id = `floor-${(nextId++).toString(36)}`;
    sockets.set(id, ws);
    ws.on('close', () => sockets.delete(id));
    ws.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    wsUrl: `ws://127.0.0.1:${port}/${STAGE}`,
    connectionsUrl: `http://127.0.0.1:${port}/${STAGE}`,
    ids: () => [...sockets.keys()],
    broadcast: (data) => {
      for (const ws of sockets.values()) ws.send(data, { binary: false });
    },
    close: async () => {
      for (const ws of sockets.values()) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
