/** Plain HTTP (no upgrade) to the WebSocket API's stage path: API Gateway answers 426 Upgrade Required. */
import type { HttpService } from '../front-door/registry.js';
import type { WebSocketGateway } from './websocket-server.js';

export function stageHttp(gateway: WebSocketGateway): HttpService {
  return {
    name: 'websocket-api',
    matches: (_req, pathname) => gateway.isStagePath(pathname),
    handle: (_req, res) => void res.writeHead(426, { 'content-type': 'application/json' }).end('{"message":"Upgrade Required"}'),
  };
}
