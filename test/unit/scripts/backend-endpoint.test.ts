/**
 * Where the backend commands send their calls (scripts/backend-endpoint.ts): --url, --local, or
 * the BackendApiUrl output of samconfig.toml's stack, and with which region and credentials.
 * CloudFormation and the SDK's chains are replaced by stubs (EndpointDeps).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import sinon from 'sinon';
import { resolveEndpoint, type EndpointDeps } from '../../../scripts/backend-endpoint';
import { expectRejection } from '../helpers';

const SAMCONFIG = `version = 0.1
[default.global.parameters]
stack_name = "chat-dev"
region = "eu-west-2"
[prod.deploy.parameters]
stack_name = "chat-prod"
`;
const API_URL = 'https://abc123.execute-api.eu-west-2.amazonaws.com/backend';

describe('the backend API endpoint (scripts/backend-endpoint.ts)', () => {
  let dir: string;
  let deps: EndpointDeps & { describeStack: sinon.SinonStub; sdkRegion: sinon.SinonStub };
  const chainCredentials = () => Promise.resolve({ accessKeyId: 'AKIA-CHAIN', secretAccessKey: 'chain-secret' });

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'backend-endpoint-'));
    writeFileSync(path.join(dir, 'samconfig.toml'), SAMCONFIG);
    deps = {
      env: {},
      samconfigFile: path.join(dir, 'samconfig.toml'),
      describeStack: sinon.stub().resolves({ Outputs: [{ OutputKey: 'BackendApiUrl', OutputValue: API_URL }] }),
      defaultCredentials: () => chainCredentials,
      sdkRegion: sinon.stub().resolves('ap-south-1'),
    };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('--local: the local runtime on 127.0.0.1:3001, signed as local/local in us-east-1', async () => {
    // Act
    const endpoint = await resolveEndpoint({ local: true }, deps);

    // Assess
    expect(endpoint.url).to.equal('http://127.0.0.1:3001/backend');
    expect(endpoint.region).to.equal('us-east-1');
    expect(await endpoint.credentials()).to.deep.equal({ accessKeyId: 'local', secretAccessKey: 'local' });
    expect(deps.describeStack.called, 'no CloudFormation call').to.equal(false);
  });

  it('--local on the port of PORT', async () => {
    // Prepare
    deps.env = { PORT: '4100' };

    // Act
    const endpoint = await resolveEndpoint({ local: true }, deps);

    // Assess
    expect(endpoint.url).to.equal('http://127.0.0.1:4100/backend');
  });

  it('--url wins: its base URL (no trailing slash), the region of its host, the SDK chain credentials', async () => {
    // Act
    const endpoint = await resolveEndpoint({ url: 'https://zz9.execute-api.sa-east-1.amazonaws.com/backend/' }, deps);

    // Assess
    expect(endpoint.url).to.equal('https://zz9.execute-api.sa-east-1.amazonaws.com/backend');
    expect(endpoint.region).to.equal('sa-east-1');
    expect(endpoint.credentials).to.equal(chainCredentials);
    expect(deps.describeStack.called, 'no CloudFormation call').to.equal(false);
  });

  it('--url of another host: the region of --region, else the SDK chain', async () => {
    // Act
    const given = await resolveEndpoint({ url: 'https://chat.example.com/backend', region: 'eu-central-1' }, deps);
    const chained = await resolveEndpoint({ url: 'https://chat.example.com/backend' }, deps);

    // Assess
    expect(given.region).to.equal('eu-central-1');
    expect(chained.region).to.equal('ap-south-1');
  });

  it('--url with --local: that URL, signed with the local credentials', async () => {
    // Act
    const endpoint = await resolveEndpoint({ url: 'http://127.0.0.1:4555/backend', local: true }, deps);

    // Assess
    expect(endpoint.url).to.equal('http://127.0.0.1:4555/backend');
    expect((await endpoint.credentials()).accessKeyId).to.equal('local');
  });

  it('refuses a --url that is not an http(s) base URL', async () => {
    // Act
    const notUrl = await expectRejection(resolveEndpoint({ url: 'abc123/backend' }, deps));
    const withQuery = await expectRejection(resolveEndpoint({ url: 'https://x.example/backend?a=1' }, deps));

    // Assess
    expect(notUrl.message).to.equal('--url: not a URL: abc123/backend');
    expect(withQuery.message).to.include('no query');
  });

  it("otherwise: samconfig.toml's stack and region, its BackendApiUrl output, the SDK chain credentials", async () => {
    // Act
    const endpoint = await resolveEndpoint({}, deps);

    // Assess
    expect(deps.describeStack.calledOnceWithExactly('chat-dev', 'eu-west-2')).to.equal(true);
    expect(endpoint.url).to.equal(API_URL);
    expect(endpoint.region).to.equal('eu-west-2');
    expect(endpoint.credentials).to.equal(chainCredentials);
  });

  it('--config-env picks another environment; with no region there, the SDK chain gives it', async () => {
    // Act
    const endpoint = await resolveEndpoint({ 'config-env': 'prod' }, deps);

    // Assess
    expect(deps.describeStack.calledOnceWithExactly('chat-prod', 'ap-south-1')).to.equal(true);
    expect(endpoint.region).to.equal('ap-south-1');
  });

  it('--stack-name and --region override samconfig.toml', async () => {
    // Act
    await resolveEndpoint({ 'stack-name': 'other', region: 'us-west-2' }, deps);

    // Assess
    expect(deps.describeStack.calledOnceWithExactly('other', 'us-west-2')).to.equal(true);
  });

  it('says so when the stack has no BackendApiUrl output (a stack of an older template)', async () => {
    // Prepare
    deps.describeStack.resolves({ Outputs: [{ OutputKey: 'WebSocketURI', OutputValue: 'wss://x' }] });

    // Act
    const error = await expectRejection(resolveEndpoint({}, deps));

    // Assess
    expect(error.message).to.include('stack chat-dev has no BackendApiUrl output');
    expect(error.message).to.include('deploy the current template');
  });

  it('says so when neither samconfig.toml nor --stack-name names a stack', async () => {
    // Prepare
    deps.samconfigFile = path.join(dir, 'missing.toml');

    // Act
    const error = await expectRejection(resolveEndpoint({}, deps));

    // Assess
    expect(error.message).to.equal("no --stack-name, and samconfig.toml's default environment names none");
  });
});
