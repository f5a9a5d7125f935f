/**
 * The local runtime at its doors, attacked as a web page or a stray client would and defended as
 * AWS defends: unsigned or wrongly signed calls to @connections, SQS and the store are refused
 * with each service's own error; foreign Host (DNS rebinding) and Origin (another site's page)
 * are refused on every listener, with no permissive CORS answer; a client that never reads gets
 * posts to it refused (LimitExceededException) instead of the runtime buffering without bound;
 * a malformed @connections path is a 400.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { ApiGatewayManagementApiClient, GetConnectionCommand, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, ListTablesCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { expect } from 'chai';
import type { LocalRuntime } from '../../src/index';
import { localSigner } from '../../src/iam/sigv4';
import { connect, connectWithId, eventually, refusal, startRuntime } from '../helpers';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One raw HTTP request (headers exactly as given, Host included), as a browser or curl would send it. */
function raw(url: string, options: { method?: string; headers?: Record<string, string>; body?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** What an SDK call raises (fails when it succeeds). */
async function raised(call: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  const outcome = await call.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  if (!outcome) throw new Error('the call succeeded');
  return outcome;
}

const SCAN = { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.Scan' };

describe('the local runtime at its doors (SigV4, Host, Origin, send buffers)', () => {
  let runtime: LocalRuntime;
  const foreign = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };

  before(async () => {
    runtime = await startRuntime({ limits: { sendBufferBytes: 64 * 1024 } });
  });
  after(async () => {
    await runtime?.close();
  });

  const clients = (credentials: { accessKeyId: string; secretAccessKey: string }) => ({
    management: new ApiGatewayManagementApiClient({ endpoint: runtime.connectionsUrl, region: 'us-east-1', credentials, maxAttempts: 1 }),
    dynamodb: new DynamoDBClient({ endpoint: runtime.dynamodbEndpoint, region: 'us-east-1', credentials, maxAttempts: 1 }),
    sqs: new SQSClient({ endpoint: runtime.httpUrl, region: 'us-east-1', credentials, maxAttempts: 1 }),
  });

  describe('SigV4', () => {
    it('refuses an unsigned post to @connections with 403 Missing Authentication Token, and the client gets nothing', async () => {
      const { client, connectionId } = await connectWithId(runtime);
      try {
        const answer = await raw(`${runtime.connectionsUrl}/@connections/${encodeURIComponent(connectionId)}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: 'forged message',
        });
        expect(answer.status).to.equal(403);
        expect(answer.headers['x-amzn-errortype']).to.equal('MissingAuthenticationTokenException');
        expect(JSON.parse(answer.body)).to.deep.equal({ message: 'Missing Authentication Token' });
        expect(await client.quietFor(300), 'nothing reached the client').to.deep.equal([]);
      } finally {
        await client.close();
      }
    });

    it('refuses unsigned calls to the store (400, as DynamoDB) and to SQS (403), with their error types', async () => {
      const store = await raw(runtime.dynamodbEndpoint, {
        method: 'POST',
        headers: SCAN,
        body: JSON.stringify({ TableName: runtime.tables.EventsTable }),
      });
      expect(store.status).to.equal(400);
      expect(JSON.parse(store.body)).to.deep.equal({
        __type: 'com.amazon.coral.service#MissingAuthenticationTokenException',
        message: 'Request is missing Authentication Token',
      });
      const sqs = await raw(runtime.httpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.ListQueues' },
        body: '{}',
      });
      expect(sqs.status).to.equal(403);
      expect(sqs.headers['x-amzn-query-error']).to.equal('MissingAuthenticationToken;Sender');
    });

    it('refuses a forged Authorization header (a well-formed one with any key) as UnrecognizedClient', async () => {
      const forged = `AWS4-HMAC-SHA256 Credential=anything/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`;
      const now = new Date()
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z')
        .replace(/[-:]/g, '');
      const answer = await raw(runtime.dynamodbEndpoint, {
        method: 'POST',
        headers: { ...SCAN, authorization: forged.replace('20250101', now.slice(0, 8)), 'x-amz-date': now },
        body: '{}',
      });
      expect(answer.status).to.equal(400);
      expect(JSON.parse(answer.body).__type).to.equal('com.amazon.coral.service#UnrecognizedClientException');
    });

    it("refuses credentials it did not hand out: the SDK raises each service's error", async () => {
      const { management, dynamodb, sqs } = clients(foreign);
      try {
        const post = await raised(management.send(new PostToConnectionCommand({ ConnectionId: 'abcdefghijklmno=', Data: 'x' })));
        expect(post.name).to.equal('UnrecognizedClientException');
        expect(post.$metadata?.httpStatusCode).to.equal(403);
        expect((await raised(dynamodb.send(new ListTablesCommand({})))).name).to.equal('UnrecognizedClientException');
        expect((await raised(sqs.send(new ListQueuesCommand({})))).name).to.equal('InvalidClientTokenId');
      } finally {
        [management, dynamodb, sqs].forEach((c) => c.destroy());
      }
    });

    it('refuses the right key with a wrong secret: InvalidSignatureException / SignatureDoesNotMatch', async () => {
      const { management, dynamodb, sqs } = clients({ accessKeyId: runtime.credentials.accessKeyId, secretAccessKey: 'not-the-secret' });
      try {
        expect((await raised(management.send(new GetConnectionCommand({ ConnectionId: 'abcdefghijklmno=' })))).name).to.equal(
          'InvalidSignatureException',
        );
        expect((await raised(dynamodb.send(new ListTablesCommand({})))).name).to.equal('InvalidSignatureException');
        expect((await raised(sqs.send(new ListQueuesCommand({})))).name).to.equal('SignatureDoesNotMatch');
      } finally {
        [management, dynamodb, sqs].forEach((c) => c.destroy());
      }
    });

    it('recomputes the signature: a signed request whose body was changed on the way is refused', async () => {
      const url = new URL(runtime.dynamodbEndpoint);
      const body = JSON.stringify({ TableName: runtime.tables.EventsTable, Limit: 1 });
      const signed = await localSigner(runtime.credentials, 'dynamodb').sign({
        method: 'POST',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: '/',
        query: {},
        headers: { ...SCAN, host: url.host },
        body,
      });
      const headers = Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k, String(v)]));
      const intact = await raw(runtime.dynamodbEndpoint, { method: 'POST', headers, body });
      expect(intact.status, intact.body).to.equal(200);
      const tampered = await raw(runtime.dynamodbEndpoint, { method: 'POST', headers, body: body.replace('"Limit":1', '"Limit":9') });
      expect(tampered.status).to.equal(400);
      expect(JSON.parse(tampered.body).__type).to.equal('com.amazon.coral.service#InvalidSignatureException');
    });

    it('refuses a signature made more than 15 minutes ago, and takes a presigned URL', async () => {
      const { client, connectionId } = await connectWithId(runtime);
      try {
        const url = new URL(`${runtime.connectionsUrl}/@connections/${encodeURIComponent(connectionId)}`);
        const request = {
          method: 'GET',
          protocol: 'http:',
          hostname: url.hostname,
          port: Number(url.port),
          path: url.pathname,
          query: {},
          headers: { host: url.host },
        };
        const signer = localSigner(runtime.credentials, 'execute-api');
        const old = await signer.sign(request, { signingDate: new Date(Date.now() - 20 * 60 * 1000) });
        const expired = await raw(url.href, { headers: Object.fromEntries(Object.entries(old.headers).map(([k, v]) => [k, String(v)])) });
        expect(expired.status).to.equal(403);
        expect(expired.headers['x-amzn-errortype']).to.equal('InvalidSignatureException');
        expect(JSON.parse(expired.body).message).to.match(/^Signature expired: /);

        const presigned = await signer.presign(request, { expiresIn: 60 });
        const query = new URLSearchParams(Object.entries(presigned.query ?? {}).map(([k, v]): [string, string] => [k, String(v)]));
        const answer = await raw(`${url.href}?${query}`, { headers: { host: url.host } });
        expect(answer.status, answer.body).to.equal(200);
        expect(JSON.parse(answer.body)).to.have.property('connectedAt');
      } finally {
        await client.close();
      }
    });

    it('answers 400 for a malformed connection id, signed or not refused first with 403', async () => {
      const url = new URL(`${runtime.connectionsUrl}/@connections/%E0%A4%A`);
      const unsigned = await raw(url.href, { method: 'POST', body: 'x' });
      expect(unsigned.status).to.equal(403);
      const signed = await localSigner(runtime.credentials, 'execute-api').sign({
        method: 'POST',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: url.pathname,
        query: {},
        headers: { host: url.host },
        body: 'x',
      });
      const answer = await raw(url.href, {
        method: 'POST',
        headers: Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k, String(v)])),
        body: 'x',
      });
      expect(answer.status, answer.body).to.equal(400);
      expect(answer.headers['x-amzn-errortype']).to.equal('BadRequestException');
    });
  });

  describe('Host and Origin', () => {
    it('refuses a foreign Host (DNS rebinding) on the page, @connections, SQS, the store and the WebSocket API', async () => {
      const evil = (url: string): string => `rebound.example:${new URL(url).port}`;
      for (const url of [runtime.httpUrl, `${runtime.connectionsUrl}/@connections/abcdefghijklmno%3D`]) {
        const answer = await raw(url, { headers: { host: evil(url) } });
        expect(answer.status, url).to.equal(403);
        expect(answer.body, url).to.include("Host 'rebound.example");
      }
      const sqs = await raw(runtime.httpUrl, {
        method: 'POST',
        headers: { host: evil(runtime.httpUrl), 'x-amz-target': 'AmazonSQS.ListQueues' },
        body: '{}',
      });
      expect(sqs.status).to.equal(403);
      const store = await raw(runtime.dynamodbEndpoint, {
        method: 'POST',
        headers: { ...SCAN, host: evil(runtime.dynamodbEndpoint) },
        body: '{}',
      });
      expect(store.status).to.equal(403);
      expect(JSON.parse(store.body).__type).to.equal('com.amazon.coral.service#AccessDeniedException');
      expect((await refusal(runtime.wsUrl, { headers: { host: evil(runtime.wsUrl) } })).status).to.equal(403);
    });

    it('answers its own addresses: localhost and 127.0.0.1 with its port', async () => {
      const port = new URL(runtime.httpUrl).port;
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`]) {
        expect((await raw(runtime.httpUrl, { headers: { host } })).status, host).to.equal(200);
      }
      expect((await raw(runtime.httpUrl, { headers: { host: `localhost:${Number(port) + 1}` } })).status, 'another port').to.equal(403);
    });

    it("refuses another site's page on the store and @connections, with no Access-Control-Allow-Origin", async () => {
      const origin = 'https://attacker.example';
      const preflight = await raw(runtime.dynamodbEndpoint, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,x-amz-target' },
      });
      expect(preflight.status).to.equal(403);
      expect(preflight.headers).not.to.have.property('access-control-allow-origin');
      const scan = await raw(runtime.dynamodbEndpoint, { method: 'POST', headers: { ...SCAN, origin }, body: '{}' });
      expect(scan.status).to.equal(403);
      expect(scan.headers).not.to.have.property('access-control-allow-origin');
      const post = await raw(`${runtime.connectionsUrl}/@connections/abcdefghijklmno%3D`, {
        method: 'POST',
        headers: { origin },
        body: 'x',
      });
      expect(post.status).to.equal(403);
      expect(post.body).to.include(`Origin '${origin}'`);
    });

    it("lets a signed tool read the store without any CORS header, even when it names the store's own origin", async () => {
      const db = new DynamoDBClient({ endpoint: runtime.dynamodbEndpoint, region: 'us-east-1', credentials: runtime.credentials });
      try {
        let answered: Record<string, string> = {};
        db.middlewareStack.add(
          (next) => (args) => {
            (args.request as { headers: Record<string, string> }).headers.origin = new URL(runtime.dynamodbEndpoint).origin;
            return next(args);
          },
          { step: 'build' },
        );
        db.middlewareStack.add(
          (next) => async (args) => {
            const out = await next(args);
            answered = (out.response as { headers: Record<string, string> }).headers;
            return out;
          },
          { step: 'deserialize' },
        );
        const answer = await db.send(new ScanCommand({ TableName: runtime.tables.EventsTable, Limit: 1 }));
        expect(answer.$metadata.httpStatusCode).to.equal(200);
        expect(answered).to.have.property('x-amzn-requestid');
        expect(answered).not.to.have.property('access-control-allow-origin');
      } finally {
        db.destroy();
      }
    });

    it('accepts WebSocket clients without Origin and pages of its own origin; refuses other origins unless allowed', async () => {
      const own = new URL(runtime.httpUrl).origin;
      const plain = await connect(runtime.wsUrl);
      await plain.close();
      const page = await connect(runtime.wsUrl, { origin: own });
      await page.close();
      const localhostPage = await connect(runtime.wsUrl, { origin: `http://localhost:${new URL(own).port}` });
      await localhostPage.close();
      const refused = await refusal(runtime.wsUrl, { origin: 'https://attacker.example' });
      expect(refused.status).to.equal(403);
      expect(refused.body).to.include('--allow-origin https://attacker.example');

      const open = await startRuntime({ allowedOrigins: ['http://localhost:5173'] });
      try {
        const devServer = await connect(open.wsUrl, { origin: 'http://localhost:5173' });
        await devServer.close();
        expect((await refusal(open.wsUrl, { origin: 'https://attacker.example' })).status).to.equal(403);
      } finally {
        await open.close();
      }
    });
  });

  describe('send buffers', () => {
    it('refuses posts to a client that never reads with LimitExceededException, holds no more, and delivers what it accepted', async () => {
      const { client, connectionId } = await connectWithId(runtime);
      const management = new ApiGatewayManagementApiClient({
        endpoint: runtime.connectionsUrl,
        region: 'us-east-1',
        credentials: runtime.credentials,
        maxAttempts: 1,
      });
      try {
        client.ws.pause();
        const payload = 'x'.repeat(100 * 1024);
        let accepted = 0;
        let refused: Error | undefined;
        // The kernel's socket buffers take a few MB first; then the runtime's own bound holds.
        for (let i = 0; i < 400 && !refused; i += 1) {
          try {
            await management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: payload }));
            accepted += 1;
          } catch (e: unknown) {
            refused = e as Error;
          }
        }
        expect(refused?.name, 'the error').to.equal('LimitExceededException');
        expect((refused as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).to.equal(429);
        for (let i = 0; i < 5; i += 1) {
          const again = await raised(management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: payload })));
          expect(again.name, 'while the client still does not read').to.equal('LimitExceededException');
        }
        client.ws.resume();
        await eventually(async () => (client.messages.length >= accepted ? true : undefined), 20_000, 'the accepted posts delivered');
        expect(await client.quietFor(200), 'every accepted post, and nothing refused').to.have.length(accepted);
      } finally {
        management.destroy();
        await client.close();
      }
    });
  });
});
