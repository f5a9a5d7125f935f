/**
 * The calls of `npm run publish` and `npm run moderate` as the backend API receives them
 * (scripts/backend-client.ts, through a stand-in server on 127.0.0.1): a JSON POST to the route,
 * signed with SigV4 for execute-api. The signature is checked as the local runtime checks it:
 * local/src/iam/sigv4.ts's verifySigV4 recomputes it with @smithy/signature-v4 from the request
 * as it arrived (its method, path, host and content-type headers, its body).
 */
import { expect } from 'chai';
import { verifySigV4 } from '../../../local/src/iam/sigv4';
import { signedPost } from '../../../scripts/backend-client';
import { MODERATE } from '../../../scripts/moderate';
import { PUBLISH } from '../../../scripts/publish';
import { expectRejection } from '../helpers';
import { runAgainst, startFakeBackend, type FakeBackend, type Received } from './backend-server';

const verify = (request: Received, secrets: Record<string, string>, options: { service?: string; body?: Buffer } = {}) =>
  verifySigV4(request, options.body ?? request.body, { service: options.service ?? 'execute-api', secretOf: (id) => secrets[id] });

describe('the backend API calls, signed (scripts/backend-client.ts)', () => {
  let backend: FakeBackend;

  before(async () => {
    backend = await startFakeBackend();
  });
  after(() => backend.close());
  beforeEach(() => backend.reset());

  it('posts the JSON body to <url>/messages, signed for execute-api with the local credentials', async () => {
    // Act
    const { code } = await runAgainst(backend, PUBLISH, ['--local', '--room', 'lobby', '--text', 'héllo', '--name', 'ops']);

    // Assess
    expect(code).to.equal(0);
    expect(backend.received).to.have.length(1);
    const [request] = backend.received as [Received];
    expect(request.method).to.equal('POST');
    expect(request.url).to.equal('/backend/messages');
    expect(request.headers['content-type']).to.equal('application/json');
    expect(request.headers.host).to.equal(`127.0.0.1:${backend.port}`);
    expect(JSON.parse(request.body.toString('utf8'))).to.deep.equal({ room: 'lobby', text: 'héllo', name: 'ops' });
    const authorization = String(request.headers.authorization);
    expect(authorization).to.match(/^AWS4-HMAC-SHA256 Credential=local\/\d{8}\/us-east-1\/execute-api\/aws4_request, /);
    expect(authorization).to.include('SignedHeaders=content-type;host;x-amz-date,');
    expect(await verify(request, { local: 'local' })).to.deep.equal({ accessKeyId: 'local' });
  });

  it('posts moderation to <url>/moderation, signed the same way', async () => {
    // Act
    await runAgainst(backend, MODERATE, ['ban', '--local', '--room', 'lobby', '--user', 'sub-1', '--for', '2h']);

    // Assess
    const [request] = backend.received as [Received];
    expect(request.url).to.equal('/backend/moderation');
    expect(JSON.parse(request.body.toString('utf8'))).to.deep.equal({ op: 'ban', room: 'lobby', user: 'sub-1', for: '2h' });
    expect(await verify(request, { local: 'local' })).to.deep.equal({ accessKeyId: 'local' });
  });

  it('signs what it sends: another secret, another body or another service does not verify', async () => {
    // Prepare
    await runAgainst(backend, PUBLISH, ['--local', '--room', 'lobby', '--text', 'hi']);
    const [request] = backend.received as [Received];

    // Act
    const wrongSecret = await verify(request, { local: 'other' });
    const otherBody = await verify(request, { local: 'local' }, { body: Buffer.from('{"room":"lobby","text":"ho"}') });
    const otherService = await verify(request, { local: 'local' }, { service: 'sqs' });

    // Assess
    expect(wrongSecret).to.include({ problem: 'InvalidSignature' });
    expect(otherBody).to.include({ problem: 'InvalidSignature' });
    expect(otherService).to.include({ problem: 'InvalidSignature' });
  });

  it("signs with temporary credentials' session token, in the endpoint's region", async () => {
    // Prepare
    const credentials = { accessKeyId: 'ASIATEMP', secretAccessKey: 'temp-secret', sessionToken: 'the-token' };
    const endpoint = {
      url: `http://127.0.0.1:${backend.port}/backend`,
      region: 'eu-west-3',
      credentials: () => Promise.resolve(credentials),
      origin: 'test',
    };

    // Act
    const reply = await signedPost(endpoint, 'moderation', { op: 'unban', room: 'lobby', user: 'sub-1' });

    // Assess
    expect(reply).to.deep.equal({ status: 200, json: { ok: true }, text: '{"ok":true}' });
    const [request] = backend.received as [Received];
    expect(request.headers['x-amz-security-token']).to.equal('the-token');
    expect(String(request.headers.authorization)).to.match(/Credential=ASIATEMP\/\d{8}\/eu-west-3\/execute-api\/aws4_request/);
    expect(String(request.headers.authorization)).to.include('x-amz-security-token');
    expect(await verify(request, { ASIATEMP: 'temp-secret' })).to.deep.equal({ accessKeyId: 'ASIATEMP' });
  });

  it('says where to get credentials when the chain has none, and sends nothing', async () => {
    // Prepare
    const endpoint = {
      url: `http://127.0.0.1:${backend.port}/backend`,
      region: 'us-east-1',
      credentials: () => Promise.reject(new Error('Could not load credentials from any providers')),
      origin: 'test',
    };

    // Act
    const error = await expectRejection(signedPost(endpoint, 'messages', { room: 'lobby', text: 'hi' }));

    // Assess
    expect(error.message).to.include('no AWS credentials to sign with');
    expect(error.message).to.include('--local');
    expect(backend.received).to.deep.equal([]);
  });
});
