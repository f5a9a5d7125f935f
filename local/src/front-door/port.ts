/** The runtime's one port: listening on it (a clear error when it is taken), closing it, and the address it is reached at. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'EADDRINUSE' ? new Error(`port ${port} is in use on ${host}: stop what uses it or set PORT`) : e);
    });
    server.listen(port, host, () => resolvePort((server.address() as AddressInfo).port));
  });
}

export const closeServer = (server: Server): Promise<void> =>
  new Promise((done) => {
    server.closeAllConnections();
    server.close(() => done());
  });

/** The address to reach a server listening on `host` (a wildcard address is reached on loopback). */
export function reachable(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
