/**
 * The direct path of PostToConnection (platform/direct-post.ts), against a real HTTP server on
 * 127.0.0.1: what it sends next to what the SDK's own stack sends, its signature checked as
 * the local runtime's doors check it, and which answers go back through the SDK's stack.
 *
 * The suite's SDK mock replaces every Management API client's `send`; a command here runs the
 * way `send` runs it (its middleware resolved over the client's stack), so the stack is real.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ApiGatewayManagementApiClient,
  GetConnectionCommand,
  GoneException,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { expect } from 'chai';
import { MANAGEMENT_MAX_ATTEMPTS } from '../../../layers/chat-core/src/platform/aws';
import { DIRECT_POST_MIDDLEWARE, withDirectPost } from '../../../layers/chat-core/src/platform/direct-post';
import { verifySigV4 } from '../../../local/src/iam/sigv4';
import { setTimeout as sleep } from 'node:timers/promises';
import { expectRejection, runAsSend } from '../helpers';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const CREDENTIALS = { accessKeyId: 'AKIDDIRECT', secretAccessKey: 'direct-secret', sessionToken: 'direct-token' };
/** A connection id as API Gateway makes them, with every character a path label escapes. */
const CONNECTION_ID = "L0SM9cOFvHcCIhw=!'()*";
/** The server keeps the request and never answers it. */
const NO_ANSWER = -1;
const DATA = Buffer.from('{"type":"message","text":"hello, everyone!"}', 'utf8');

/** Resolves once `condition` holds (polled), or fails after a second. */
async function until(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited > 1000) throw new Error('condition not met within a second');
    await sleep(5);
  }
}

describe('layer: direct PostToConnection', () => {
  let server: Server;
  let received: Received[];
  /** The status each request gets, in turn (the last one repeats). */
  let statuses: number[];
  let endpoint: string;
  let unanswered: ServerResponse[];

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        const status = statuses.length > 1 ? (statuses.shift() as number) : (statuses[0] ?? 200);
        if (status === NO_ANSWER) return void unanswered.push(res);
        if (status === 200) return void res.writeHead(200, { 'content-length': 0 }).end();
        const type = status === 410 ? 'GoneException' : status === 429 ? 'LimitExceededException' : 'InternalServerErrorException';
        const body = JSON.stringify({ message: `answered ${status}` });
        res
          .writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type, 'content-length': Buffer.byteLength(body) })
          .end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/production`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  beforeEach(() => {
    received = [];
    statuses = [200];
    unanswered = [];
  });

  afterEach(() => unanswered.forEach((res) => res.destroy()));

  const client = (direct = true): ApiGatewayManagementApiClient => {
    const plain = new ApiGatewayManagementApiClient({
      endpoint,
      region: 'eu-west-1',
      credentials: CREDENTIALS,
      maxAttempts: MANAGEMENT_MAX_ATTEMPTS,
    });
    return direct ? withDirectPost(plain) : plain;
  };

  const post = (c: ApiGatewayManagementApiClient, options: { abortSignal?: AbortSignal } = {}) =>
    runAsSend(c, new PostToConnectionCommand({ ConnectionId: CONNECTION_ID, Data: DATA }), options);

  const verified = (request: Received) =>
    verifySigV4(request, request.body, {
      service: 'execute-api',
      secretOf: (id) => (id === CREDENTIALS.accessKeyId ? CREDENTIALS.secretAccessKey : undefined),
    });

  it('sends what the SDK sends (method, path, body, content type, session token), once, signed for execute-api', async () => {
    // Act
    const output = await post(client());
    await post(client(false));

    // Assess
    const [direct, sdk] = received as [Received, Received];
    expect(received).to.have.length(2);
    expect(output.$metadata.httpStatusCode).to.equal(200);
    expect(direct.method).to.equal(sdk.method);
    expect(direct.url).to.equal(sdk.url);
    expect(direct.url).to.equal('/production/@connections/L0SM9cOFvHcCIhw%3D%21%27%28%29%2A');
    expect(direct.body.equals(sdk.body)).to.equal(true);
    for (const name of ['content-type', 'content-length', 'x-amz-security-token', 'x-amz-content-sha256', 'host']) {
      expect(direct.headers[name], name).to.equal(sdk.headers[name]);
    }
    expect(direct.headers.authorization).to.match(/^AWS4-HMAC-SHA256 Credential=AKIDDIRECT\/\d{8}\/eu-west-1\/execute-api\/aws4_request, /);
    expect(await verified(direct)).to.deep.equal({ accessKeyId: CREDENTIALS.accessKeyId });
    expect(await verified(sdk)).to.deep.equal({ accessKeyId: CREDENTIALS.accessKeyId });
    // One logical call of its own, its first attempt (of the SDK's and this one), without the SDK stack's user agent.
    expect(direct.headers['amz-sdk-invocation-id']).to.match(/^[0-9a-f-]{36}$/);
    expect(direct.headers['amz-sdk-request']).to.equal(`attempt=1; max=${MANAGEMENT_MAX_ATTEMPTS + 1}`);
    expect(direct.headers['x-amz-user-agent']).to.equal(undefined);
    expect(sdk.headers['x-amz-user-agent']).to.be.a('string');
  });

  it("throws the SDK's own GoneException for 410, after one request", async () => {
    // Prepare
    statuses = [410];

    // Act
    const error = await expectRejection(post(client()), GoneException);

    // Assess
    expect(error.$metadata.httpStatusCode).to.equal(410);
    expect(received).to.have.length(1);
  });

  it("hands any other answer to the SDK's stack, which retries and throws its modeled error", async () => {
    // Prepare: throttled every time
    statuses = [429];

    // Act
    const error = await expectRejection(post(client()), LimitExceededException);

    // Assess: the direct attempt, then the SDK's own attempts, all of one logical call
    const max = MANAGEMENT_MAX_ATTEMPTS + 1;
    expect(received).to.have.length(max);
    expect(received.map((r) => r.headers['amz-sdk-request'])).to.deep.equal(
      Array.from({ length: max }, (_, i) => `attempt=${i + 1}; max=${max}`),
    );
    expect(new Set(received.map((r) => r.headers['amz-sdk-invocation-id'])).size).to.equal(1);
    expect(received[1]?.headers['x-amz-user-agent']).to.be.a('string'); // the SDK's stack
    expect(await verified(received[2] as Received)).to.deep.equal({ accessKeyId: CREDENTIALS.accessKeyId });
    expect(error.$metadata.attempts).to.equal(MANAGEMENT_MAX_ATTEMPTS);
  });

  it("delivers through the SDK's stack when that retry succeeds", async () => {
    // Prepare: a server error, then fine
    statuses = [500, 200];

    // Act
    const output = await post(client());

    // Assess
    expect(output.$metadata.httpStatusCode).to.equal(200);
    expect(received).to.have.length(2);
  });

  it('stops a post in flight when its signal aborts (the caller timed out), and does not send it again', async () => {
    // Prepare
    statuses = [NO_ANSWER];
    const abort = new AbortController();

    // Act
    const pending = post(client(), { abortSignal: abort.signal });
    await until(() => received.length === 1);
    abort.abort();
    const error = await expectRejection(pending);
    await sleep(100);

    // Assess
    expect(error.name).to.equal('AbortError');
    expect(received).to.have.length(1);
  });

  it('leaves every other command to the SDK', async () => {
    // Prepare
    const c = client();

    // Act
    await runAsSend(c, new GetConnectionCommand({ ConnectionId: CONNECTION_ID })).catch(() => undefined);

    // Assess
    expect(received).to.have.length(1);
    expect(received[0]?.method).to.equal('GET');
    expect(received[0]?.headers['amz-sdk-invocation-id']).to.be.a('string');
    expect(c.middlewareStack.identify().some((entry) => entry.startsWith(DIRECT_POST_MIDDLEWARE))).to.equal(true);
  });

  it("carries the invocation's trace id in a Lambda function, as the SDK does (X-Ray's HTTP capture then leaves it alone)", async () => {
    // Prepare
    const saved = { name: process.env.AWS_LAMBDA_FUNCTION_NAME, trace: process.env._X_AMZN_TRACE_ID };
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'SendMessageFunction';
    process.env._X_AMZN_TRACE_ID = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';

    try {
      // Act
      await post(client());
      await post(client(false));
    } finally {
      for (const [key, value] of [
        ['AWS_LAMBDA_FUNCTION_NAME', saved.name],
        ['_X_AMZN_TRACE_ID', saved.trace],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }

    // Assess
    expect(received[0]?.headers['x-amzn-trace-id']).to.equal('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1');
    expect(received[0]?.headers['x-amzn-trace-id']).to.equal(received[1]?.headers['x-amzn-trace-id']);
  });
});
