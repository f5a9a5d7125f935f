/**
 * The template's HTTP APIs on the runtime's port (fixtures/http-api.yaml): AWS_IAM routes take
 * only requests SigV4-signed with the runtime's credentials, and a refused one never reaches its
 * function; the function gets a payload format 2.0 event and its result is answered as API
 * Gateway answers it; unknown paths of a stage are 404; SAM's implicit API is at the port's root.
 * http-api-start.test.ts: what refuses the start, and what `npm start` prints.
 */
import { request as httpRequest } from 'node:http';
import { expect } from 'chai';
import { accessKeyIdFor, secretAccessKeyFor } from '../../src/iam/iam';
import type { LocalRuntime } from '../../src/index';
import { startRuntime } from '../helpers';
import { HTTP_TEMPLATE, send, signedHeaders, type Answer } from './http-api-helpers';
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

describe('local runtime: HTTP APIs (fixtures/http-api.yaml)', function () {
  this.timeout(30_000);
  let runtime: LocalRuntime;
  const invocations = (functionId: string): number => runtime.stats()[functionId]?.invocations ?? 0;

  before(async () => {
    runtime = await startRuntime({ templatePath: HTTP_TEMPLATE });
  });
  after(async () => runtime?.close());

  describe('AWS_IAM routes', () => {
    it('take a signed POST: the function gets the 2.0 event, the caller in authorizer.iam', async () => {
      // Prepare
      const url = `${runtime.httpRouteUrl('Publish')}?room=lobby&x=1&x=2`;
      const body = JSON.stringify({ text: 'hello' });

      // Act
      const answer = await send(url, { method: 'POST', headers: await signedHeaders(url, body, runtime.credentials), body });

      // Assess
      expect(answer.status, answer.body).to.equal(200);
      const event = JSON.parse(answer.body);
      expect(event).to.include({ version: '2.0', routeKey: 'POST /messages', rawPath: '/backend/messages', body, isBase64Encoded: false });
      expect(event.rawQueryString).to.equal('room=lobby&x=1&x=2');
      expect(event.queryStringParameters).to.deep.equal({ room: 'lobby', x: '1,2' });
      expect(event.headers['content-type']).to.equal('application/json');
      expect(event.requestContext).to.include({ routeKey: 'POST /messages', stage: 'backend', accountId: '123456789012' });
      expect(event.requestContext.apiId).to.equal(runtime.httpApis.find((a) => a.logicalId === 'BackendApi')?.apiId);
      expect(event.requestContext.http).to.include({
        method: 'POST',
        path: '/backend/messages',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
      });
      expect(event.requestContext.authorizer.iam).to.include({
        accessKey: 'local',
        accountId: '123456789012',
        cognitoIdentity: null,
        userArn: 'arn:aws:iam::123456789012:user/local',
      });
      expect(event.requestContext.authorizer.iam.userId).to.match(/^AIDA[A-Z2-7]{17}$/);
      expect(answer.headers['apigw-requestid']).to.equal(event.requestContext.requestId);
    });

    it('refuse an unsigned request with 403 Forbidden, and the function is not invoked', async () => {
      // Prepare
      const before = invocations('EchoFunction');

      // Act
      const answer = await send(runtime.httpRouteUrl('Publish'), { method: 'POST', body: '{"text":"forged"}' });

      // Assess
      expect(answer.status).to.equal(403);
      expect(JSON.parse(answer.body)).to.deep.equal({ message: 'Forbidden' });
      expect(invocations('EchoFunction')).to.equal(before);
    });

    it('refuse a signature made over another body, or with a wrong secret, as not matching', async () => {
      // Prepare
      const url = runtime.httpRouteUrl('Moderate');
      const headers = await signedHeaders(url, '{"ban":"bob"}', runtime.credentials);
      const wrongSecret = await signedHeaders(url, '{}', { accessKeyId: 'local', secretAccessKey: 'not-local' });
      const before = invocations('EchoFunction');

      // Act
      const tampered = await send(url, { method: 'POST', headers, body: '{"ban":"alice"}' });
      const wrong = await send(url, { method: 'POST', headers: wrongSecret, body: '{}' });

      // Assess
      for (const answer of [tampered, wrong]) {
        expect(answer.status).to.equal(403);
        expect(JSON.parse(answer.body)).to.deep.equal({ message: MISMATCH });
      }
      expect(invocations('EchoFunction')).to.equal(before);
    });

    it('refuse an access key the runtime did not hand out', async () => {
      // Prepare
      const url = runtime.httpRouteUrl('Publish');
      const foreign = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };

      // Act
      const answer = await send(url, { method: 'POST', headers: await signedHeaders(url, '{}', foreign), body: '{}' });

      // Assess
      expect(answer.status).to.equal(403);
      expect(JSON.parse(answer.body)).to.deep.equal({ message: 'The security token included in the request is invalid.' });
    });
    it("take a function's own credentials only for what its policies allow (execute-api:Invoke)", async () => {
      // Prepare: ResultFunction's policies grant nothing.
      const url = runtime.httpRouteUrl('Publish');
      const asFunction = { accessKeyId: accessKeyIdFor('ResultFunction'), secretAccessKey: secretAccessKeyFor('ResultFunction') };
      const before = invocations('EchoFunction');
      runtime.iam.reset();

      // Act
      const answer = await send(url, { method: 'POST', headers: await signedHeaders(url, '{}', asFunction), body: '{}' });

      // Assess
      expect(answer.status).to.equal(403);
      expect(JSON.parse(answer.body)).to.deep.equal({ message: 'Forbidden' });
      expect(invocations('EchoFunction')).to.equal(before);
      expect(runtime.iam.denied().map((d) => `${d.functionId} ${d.action} ${d.resource}`)).to.deep.equal([
        `ResultFunction execute-api:Invoke arn:aws:execute-api:us-east-1:123456789012:${runtime.httpApis.find((a) => a.logicalId === 'BackendApi')?.apiId}/backend/POST/messages`,
      ]);
    });

    it("take a call addressed to the API's AWS endpoint (a function's SDK call, redirected here), signed for that host", async () => {
      // Prepare
      const apiId = runtime.httpApis.find((a) => a.logicalId === 'BackendApi')?.apiId as string;
      const host = `${apiId}.execute-api.us-east-1.amazonaws.com`;
      const url = runtime.httpRouteUrl('Publish');

      // Act
      const answer = await send(url, {
        method: 'POST',
        headers: await signedHeaders(url, '{}', runtime.credentials, 'POST', host),
        body: '{}',
      });

      // Assess
      expect(answer.status, answer.body).to.equal(200);
      expect(JSON.parse(answer.body).requestContext).to.include({ domainName: host, domainPrefix: apiId });
    });
  });

  describe('open routes and routing', () => {
    it('serve a route of Authorizer NONE unsigned, with its path parameters, for ANY method', async () => {
      // Act
      const answer = await send(`${runtime.httpApis.find((a) => a.logicalId === 'BackendApi')?.url}/items/a%20b`, { method: 'DELETE' });

      // Assess
      expect(answer.status, answer.body).to.equal(200);
      const event = JSON.parse(answer.body);
      expect(event).to.include({ routeKey: 'ANY /items/{id}' });
      expect(event.pathParameters).to.deep.equal({ id: 'a b' });
      expect(event.requestContext).not.to.have.property('authorizer');
    });

    it('give a greedy variable the rest of the path', async () => {
      // Act
      const answer = await send(runtime.httpRouteUrl('Files').replace('{proxy+}', 'docs/a/b.txt'));

      // Assess
      expect(JSON.parse(answer.body).pathParameters).to.deep.equal({ proxy: 'docs/a/b.txt' });
    });

    it('answer 404 {"message":"Not Found"} for an unknown path of a stage, and for a method the route does not take', async () => {
      // Act
      const unknown = await send(`${runtime.httpApis.find((a) => a.logicalId === 'BackendApi')?.url}/nowhere`, { method: 'POST' });
      const wrongMethod = await send(runtime.httpRouteUrl('Files').replace('{proxy+}', 'x'), { method: 'PUT' });

      // Assess
      for (const answer of [unknown, wrongMethod]) {
        expect(answer.status).to.equal(404);
        expect(JSON.parse(answer.body)).to.deep.equal({ message: 'Not Found' });
      }
    });

    it("serve SAM's implicit API (an event without ApiId) at the port's root, beside the page", async () => {
      // Act
      const health = await send(runtime.httpRouteUrl('Health'));
      const page = await send(runtime.httpUrl);

      // Assess
      expect(runtime.httpRouteUrl('Health')).to.equal(`${runtime.httpUrl}health`);
      expect(JSON.parse(health.body).requestContext).to.include({ stage: '$default', routeKey: 'GET /health' });
      expect(JSON.parse(health.body).rawPath).to.equal('/health');
      expect(page.status).to.equal(200);
      expect(page.headers['content-type']).to.match(/^text\/html/);
    });
  });

  describe('results, as payload format 2.0 maps them', () => {
    const result = (kind: string): Promise<Answer> =>
      send(runtime.httpRouteUrl('Result'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ kind }),
      });

    it('answer an object with statusCode with its status, headers, cookies and body', async () => {
      // Act
      const answer = await result('structured');

      // Assess
      expect(answer.status).to.equal(201);
      expect(answer.body).to.equal('created');
      expect(answer.headers).to.include({ 'x-answer': 'yes', 'content-type': 'text/plain', 'x-many': 'one, two' });
      expect(answer.headers['set-cookie']).to.deep.equal(['a=1; Path=/', 'b=2']);
    });

    it('decode a base64 body', async () => {
      // Act
      const answer = await new Promise<Buffer>((resolve, reject) => {
        const req = httpRequest(
          runtime.httpRouteUrl('Result'),
          { method: 'POST', headers: { 'content-type': 'application/json' } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve(Buffer.concat(chunks)));
          },
        );
        req.on('error', reject);
        req.end('{"kind":"binary"}');
      });

      // Assess
      expect([...answer]).to.deep.equal([0, 1, 2, 255]);
    });

    it('answer anything else (an object without statusCode, a string) as 200 application/json', async () => {
      // Act
      const bare = await result('bare');
      const text = await result('string');

      // Assess
      expect(bare.status).to.equal(200);
      expect(bare.headers['content-type']).to.equal('application/json');
      expect(JSON.parse(bare.body)).to.deep.equal({ hello: 'world' });
      expect(text.status).to.equal(200);
      expect(JSON.parse(text.body)).to.equal('just text');
    });

    it('answer a handler error with 500, and an integration past TimeoutInMillis with 503', async () => {
      // Act
      const thrown = await result('throw');
      const slow = await send(runtime.httpRouteUrl('Slow'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"kind":"slow"}',
      });

      // Assess
      expect(thrown.status).to.equal(500);
      expect(JSON.parse(thrown.body)).to.deep.equal({ message: 'Internal Server Error' });
      expect(slow.status).to.equal(503);
      expect(JSON.parse(slow.body)).to.deep.equal({ message: 'Service Unavailable' });
    });
  });
});
