/**
 * The port's registry on its own (front-door/registry.ts), on a real HTTP server on 127.0.0.1:
 * it asks the services in the order they registered, answers 503 until it is opened, 404 when no
 * service takes a request, 403 past the doors, and 500 (logged with the service's name) when a
 * service fails.
 */
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { RuntimeLog } from '../../src/core/log';
import { Doors } from '../../src/front-door/doors';
import { ServiceRegistry, type HttpService } from '../../src/front-door/registry';

const service = (name: string, prefix: string, answer: (pathname: string) => string | Error): HttpService => ({
  name,
  matches: (_req, pathname) => pathname.startsWith(prefix),
  handle: (req, res, pathname) => {
    req.resume();
    const result = answer(pathname);
    if (result instanceof Error) return Promise.reject(result);
    res.writeHead(200, { 'content-type': 'text/plain' }).end(result);
  },
});

describe('local/registry: the port, and the services registered on it', () => {
  let server: Server;
  let base: string;
  let registry: ServiceRegistry;
  const warnings: string[] = [];
  const log: RuntimeLog = { info: () => undefined, warn: (m) => void warnings.push(m), invocation: () => undefined };

  beforeEach(async () => {
    warnings.length = 0;
    registry = new ServiceRegistry(new Doors({ host: '127.0.0.1' }), log);
    server = createServer(registry.listener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('answers 503 until every service is registered and the registry is opened', async () => {
    registry.register(service('a', '/', () => 'a'));
    const before = await fetch(`${base}/x`);
    expect(before.status).to.equal(503);
    expect(await before.text()).to.equal('Starting\n');
    registry.open();
    expect(await (await fetch(`${base}/x`)).text()).to.equal('a');
  });

  it('asks the services in the order they registered: the first that takes a request serves it', async () => {
    registry.register(
      service('specific', '/production/@connections', () => 'specific'),
      service('catch-all', '/', (pathname) => `catch-all ${pathname}`),
    );
    registry.open();
    expect(await (await fetch(`${base}/production/@connections/abc`)).text()).to.equal('specific');
    expect(await (await fetch(`${base}/index.html`)).text()).to.equal('catch-all /index.html');
  });

  it('answers 404 when no service takes the request', async () => {
    registry.register(service('only', '/only', () => 'only'));
    registry.open();
    const res = await fetch(`${base}/elsewhere`);
    expect(res.status).to.equal(404);
  });

  it('refuses a foreign Host at the doors, before any service sees it', async () => {
    let asked = 0;
    registry.register({ name: 'counting', matches: () => (asked += 1) > 0, handle: (_req, res) => void res.end('served') });
    registry.open();
    const { port } = server.address() as AddressInfo;
    // fetch() may not set Host; node:http may.
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/', headers: { host: `rebound.example:${port}` } }, (answer) => {
        let body = '';
        answer.on('data', (chunk: Buffer) => (body += chunk.toString()));
        answer.on('end', () => resolve({ status: answer.statusCode ?? 0, body }));
      }).on('error', reject);
    });
    expect(res.status).to.equal(403);
    expect(res.body).to.match(/Host 'rebound\.example:\d+' is not an address of this runtime/);
    expect(asked).to.equal(0);
  });

  it('answers 500 InternalServerErrorException when a service fails, and logs which service', async () => {
    registry.register(service('broken', '/', () => new Error('boom')));
    registry.open();
    const res = await fetch(`${base}/x`);
    expect(res.status).to.equal(500);
    expect(res.headers.get('x-amzn-errortype')).to.equal('InternalServerErrorException');
    expect(warnings).to.deep.equal(['broken: GET /x: boom']);
  });
});
