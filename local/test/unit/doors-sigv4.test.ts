/** The runtime's doors on their own: which Host and Origin each listener takes, and SigV4 verification. */
import type { IncomingMessage } from 'node:http';
import { expect } from 'chai';
import { Doors } from '../../src/front-door/doors';
import { localSigner, verifySigV4, type SignedRequest } from '../../src/iam/sigv4';
import { plainCanonicalRequest, signerCanonicalRequest } from '../../src/iam/sigv4-signature';

const PORT = 3001;
const req = (headers: Record<string, string>, port = PORT): IncomingMessage =>
  ({ headers, socket: { localPort: port } }) as unknown as IncomingMessage;

describe('local/doors: Host and Origin', () => {
  it("takes the loopback names with the listener's port, and refuses other names and ports", () => {
    const doors = new Doors({ host: '127.0.0.1' });
    for (const host of ['127.0.0.1:3001', 'localhost:3001', 'LOCALHOST:3001', '[::1]:3001'])
      expect(doors.refusal(req({ host })), host).to.equal(undefined);
    for (const host of ['localhost:3002', 'localhost', 'rebound.example:3001', '192.168.1.5:3001', 'localhost.:3001', 'a b']) {
      expect(doors.refusal(req({ host })), host).to.match(/^Host/);
    }
    expect(doors.refusal(req({}))).to.match(/^Host \(none\)/);
  });

  it("takes the AWS endpoint names a function's redirected SDK call was signed for, on API calls only", () => {
    const doors = new Doors({ host: '127.0.0.1' });
    for (const host of ['abc123.execute-api.us-east-1.amazonaws.com', 'dynamodb.eu-west-1.amazonaws.com', 'sqs.us-west-2.amazonaws.com']) {
      expect(doors.refusal(req({ host })), host).to.equal(undefined);
      expect(doors.refusal(req({ host }), true), `${host}, WebSocket upgrade`).to.match(/^Host/);
    }
    expect(doors.refusal(req({ host: 's3.us-east-1.amazonaws.com' }))).to.match(/^Host/);
    expect(doors.refusal(req({ host: 'dynamodb.us-east-1.amazonaws.com', origin: 'https://evil.example' }))).to.match(/^Origin/);
  });

  it('takes the --host address, any IP address when listening on all interfaces, and --allow-host names on any port', () => {
    expect(new Doors({ host: 'my-box.lan' }).refusal(req({ host: 'my-box.lan:3001' }))).to.equal(undefined);
    const everywhere = new Doors({ host: '0.0.0.0' });
    expect(everywhere.refusal(req({ host: '192.168.1.5:3001' }))).to.equal(undefined);
    expect(everywhere.refusal(req({ host: '[fe80::1]:3001' }))).to.equal(undefined);
    expect(everywhere.refusal(req({ host: 'rebound.example:3001' }))).to.match(/^Host/);
    const tunnel = new Doors({ host: '127.0.0.1', allowedHosts: ['Chat-3001.tunnel.example'] });
    expect(tunnel.refusal(req({ host: 'chat-3001.tunnel.example' }))).to.equal(undefined);
  });

  it("takes no Origin, its own pages' origins, and --allow-origin for the WebSocket API only", () => {
    const doors = new Doors({ host: '127.0.0.1', allowedOrigins: ['http://localhost:5173/'] });
    const host = '127.0.0.1:3001';
    expect(doors.refusal(req({ host }))).to.equal(undefined);
    expect(doors.refusal(req({ host, origin: 'http://127.0.0.1:3001' }))).to.equal(undefined);
    expect(doors.refusal(req({ host, origin: 'http://localhost:3001' }))).to.equal(undefined);
    for (const origin of ['null', 'https://attacker.example', 'http://localhost:3002', 'file://', 'http://localhost:5173']) {
      expect(doors.refusal(req({ host, origin })), origin).to.match(/^Origin/);
    }
    expect(doors.refusal(req({ host, origin: 'http://localhost:5173' }), true)).to.equal(undefined);
    expect(doors.refusal(req({ host, origin: 'https://attacker.example' }), true)).to.include('--allow-origin https://attacker.example');
  });

  it('says what is wrong with an --allow-origin or --allow-host value', () => {
    expect(() => new Doors({ host: '127.0.0.1', allowedOrigins: ['localhost:5173'] })).to.throw(/--allow-origin expects an origin/);
    expect(() => new Doors({ host: '127.0.0.1', allowedOrigins: ['http://localhost:5173/app'] })).to.throw(/no path/);
    expect(() => new Doors({ host: '127.0.0.1', allowedHosts: ['tunnel.example:443'] })).to.throw(/--allow-host expects a host name/);
  });
});

describe('local/sigv4: verification', () => {
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const secretOf = (key: string): string | undefined => (key === 'local' ? 'local' : undefined);
  const body = '{"TableName":"t"}';

  async function signed(
    overrides: { path?: string; query?: Record<string, string>; date?: Date; service?: string } = {},
  ): Promise<SignedRequest> {
    const request = await localSigner(credentials, overrides.service ?? 'dynamodb').sign(
      {
        method: 'POST',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: 8000,
        path: overrides.path ?? '/',
        query: overrides.query ?? {},
        headers: { host: '127.0.0.1:8000', 'x-amz-target': 'DynamoDB_20120810.Scan' },
        body,
      },
      overrides.date ? { signingDate: overrides.date } : {},
    );
    const query = new URLSearchParams(overrides.query ?? {}).toString();
    return {
      method: 'POST',
      url: `${overrides.path ?? '/'}${query ? `?${query}` : ''}`,
      headers: request.headers as Record<string, string>,
    };
  }

  it("takes what the SDK's signer signs, path and query included", async () => {
    expect(await verifySigV4(await signed(), Buffer.from(body), { service: 'dynamodb', secretOf })).to.deep.equal({ accessKeyId: 'local' });
    const withQuery = await signed({ path: '/production/@connections/abc%3D', query: { a: 'b c', z: '1' } });
    expect(await verifySigV4(withQuery, Buffer.from(body), { service: 'dynamodb', secretOf })).to.deep.equal({ accessKeyId: 'local' });
  });

  it("takes every shape of request the SDK's signer signs: paths to escape and normalise, repeated query names, spaces in headers, a signed payload hash, no body", async () => {
    const shapes: {
      method: string;
      path: string;
      query: Record<string, string | string[]>;
      headers: Record<string, string>;
      body?: string;
    }[] = [
      { method: 'POST', path: '/production/%40connections/a%2Fb%3D', query: {}, headers: {}, body },
      { method: 'GET', path: '/a/./b/../c/', query: { list: ['2', '1'], 'x y': 'é' }, headers: {}, body: undefined },
      { method: 'POST', path: '/caf\u00e9/(x)*!', query: {}, headers: { 'x-amz-meta': '  two   spaces  ' }, body: '' },
      { method: 'PUT', path: '/', query: {}, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'user-agent': 'probe/1' }, body },
    ];
    for (const shape of shapes) {
      const request = await localSigner(credentials, 'execute-api').sign(
        { protocol: 'http:', hostname: '127.0.0.1', port: 8000, ...shape, headers: { host: '127.0.0.1:8000', ...shape.headers } },
        { signableHeaders: new Set(Object.keys(shape.headers)) },
      );
      const query = new URLSearchParams(
        Object.entries(shape.query).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x): [string, string] => [k, x])),
      );
      const arrived: SignedRequest = {
        method: shape.method,
        url: `${shape.path}${query.size ? `?${query}` : ''}`,
        headers: request.headers,
      };
      const verdict = await verifySigV4(arrived, Buffer.from(shape.body ?? ''), { service: 'execute-api', secretOf });
      expect(verdict, `${shape.method} ${arrived.url}`).to.deep.equal({ accessKeyId: 'local' });
      const otherSecret = await verifySigV4(arrived, Buffer.from(shape.body ?? ''), { service: 'execute-api', secretOf: () => 'another' });
      expect(otherSecret, `${shape.method} ${arrived.url}, another secret`).to.have.property('problem', 'InvalidSignature');
    }
  });

  it('writes the canonical request of a plain request as the SDK signer does, and leaves every other request to the signer', () => {
    const headers = { host: '127.0.0.1:8000', 'x-amz-date': '20261208T040000Z', 'x-amz-meta': '  two   spaces ' };
    const names = ['host', 'x-amz-date', 'x-amz-meta'];
    const request = (path: string, query: Record<string, string> = {}, extra: Record<string, string> = {}) => ({
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      path,
      query,
      headers: { ...headers, ...extra },
    });
    for (const path of ['/', '/production/@connections/L0SM9cOFvHcC%3D', '/a/b/', '/a-b_c.d~e/%41']) {
      const plain = plainCanonicalRequest(request(path), names, 'hash');
      expect(plain, path).to.be.a('string');
      expect(plain, path).to.equal(signerCanonicalRequest(request(path), names, 'hash'));
    }
    for (const path of ['/a/./b', '/a/../b', '//a', '/caf\u00e9', "/x(y)*!'", '/a b']) {
      expect(plainCanonicalRequest(request(path), names, 'hash'), path).to.equal(undefined);
    }
    expect(plainCanonicalRequest(request('/', { a: '1' }), names, 'hash'), 'a query').to.equal(undefined);
    expect(plainCanonicalRequest(request('/'), ['x-amz-date', 'host'], 'hash'), 'names out of order').to.equal(undefined);
    expect(plainCanonicalRequest(request('/'), ['host', 'x-missing'], 'hash'), 'a signed header missing').to.equal(undefined);
    expect(plainCanonicalRequest(request('/'), ['Host'], 'hash'), 'a name in capitals').to.equal(undefined);
  });

  it("refuses a changed body, path, query or header, another service's scope, and an old signature", async () => {
    const request = await signed({ query: { a: '1' } });
    const refused = async (r: SignedRequest, b = body, now?: Date): Promise<string> => {
      const verdict = await verifySigV4(r, Buffer.from(b), { service: 'dynamodb', secretOf, ...(now ? { now } : {}) });
      return 'problem' in verdict ? `${verdict.problem}: ${verdict.message}` : 'accepted';
    };
    expect(await refused(request, `${body} `)).to.match(/^InvalidSignature: The request signature we calculated/);
    expect(await refused({ ...request, url: '/other?a=1' })).to.match(/^InvalidSignature/);
    expect(await refused({ ...request, url: '/?a=2' })).to.match(/^InvalidSignature/);
    expect(await refused({ ...request, headers: { ...request.headers, 'x-amz-target': 'DynamoDB_20120810.DeleteTable' } })).to.match(
      /^InvalidSignature/,
    );
    expect(await refused(await signed({ service: 'sqs' }))).to.match(
      /^InvalidSignature: Credential should be scoped to correct service: 'dynamodb'/,
    );
    expect(await refused(request, body, new Date(Date.now() + 16 * 60 * 1000))).to.match(/^InvalidSignature: Signature expired/);
    expect(await refused({ ...request, headers: { ...request.headers, 'x-amz-date': '2025-01-01' } })).to.match(
      /^IncompleteSignature: Date must be/,
    );
    expect(await refused({ ...request, headers: { host: '127.0.0.1:8000' } })).to.match(/^MissingAuthenticationToken/);
    const otherKey = String(request.headers.authorization).replace('Credential=local/', 'Credential=AKIDEXAMPLE/');
    expect(await refused({ ...request, headers: { ...request.headers, authorization: otherKey } })).to.match(/^UnrecognizedClient/);
  });
});
