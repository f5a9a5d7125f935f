/**
 * events/env.json for `sam local invoke` (scripts/stack-env.ts, `npm run fill-env`): every
 * function variable that depends on the stack comes from one of its outputs or parameters, the
 * shipped file is what `npm run fill-env -- --placeholders` writes, and a stack's
 * describe-stacks answer (SDK mocked) fills it.
 */
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { expect } from 'chai';
import { readTemplateFile } from 'sam-websocket-local';
import { describeStack, samconfigTarget, stackValues } from '../../../scripts/stack';
import { envFromStack, functionVariables, placeholderStack, variableSources } from '../../../scripts/stack-env';
import { expectThrow } from '../helpers';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');

describe('events/env.json from a stack (scripts/stack-env.ts)', () => {
  let template: Record<string, unknown>;
  const cloudformation = mockClient(CloudFormationClient);

  before(async () => {
    template = await readTemplateFile(path.join(ROOT, 'template.yaml'));
  });
  beforeEach(() => cloudformation.reset());

  it('finds a stack output for every function variable that comes from a resource', () => {
    // Act
    const sources = variableSources(template);

    // Assess
    expect(sources.get('ConnectFunction')).to.deep.include({
      CONNECTIONS_TABLE: 'output:ConnectionsTableName',
      FANOUT_QUEUE_URL: 'output:FanoutQueueURL',
      RATE_LIMITS_TABLE: 'output:RateLimitsTableName',
    });
    expect(sources.get('SendMessageFunction')).to.deep.include({
      CONNECTIONS_URL: 'output:ManagementApiEndpoint',
      MESSAGE_RETENTION_DAYS: 'parameters',
    });
    expect(sources.get('AuthorizerFunction')).to.deep.equal({
      POWERTOOLS_LOG_LEVEL: 'parameters',
      POWERTOOLS_TRACE_ENABLED: 'parameters',
      AUTH_MODE: 'parameters',
      TOKEN_ISSUER: 'output:TokenIssuer',
      TOKEN_AUDIENCE: 'output:TokenAudience',
      TOKEN_JWKS_URL: 'output:TokenJwksUrl',
      MODERATORS_GROUP: 'parameters',
    });
    // Constants (literals, Mappings) are SAM's to resolve.
    expect(sources.get('SendMessageFunction')).to.not.have.any.keys('MAX_MESSAGE_BYTES', 'NODE_OPTIONS');
  });

  it('names every variable that comes from a resource and has no output', () => {
    // Arrange
    const outputs = { ...(template.Outputs as Record<string, unknown>) };
    delete outputs.FanoutQueueURL;

    // Act
    const error = expectThrow(() => variableSources({ ...template, Outputs: outputs }));

    // Assess
    expect(error.message).to.include('ConnectFunction FANOUT_QUEUE_URL');
    expect(error.message).to.include('SendMessageFunction FANOUT_QUEUE_URL');
  });

  it('ships events/env.json as npm run fill-env -- --placeholders writes it: each value names its output', () => {
    // Act
    const shipped = JSON.parse(readFileSync(path.join(ROOT, 'events', 'env.json'), 'utf8')) as unknown;

    // Assess
    expect(shipped).to.deep.equal(envFromStack(template, placeholderStack(template)));
    expect(Object.keys(shipped as object)).to.deep.equal([...functionVariables(template).keys()]);
  });

  it("fills it from describe-stacks: outputs, parameters, and conditions on the stack's parameters", async () => {
    // Arrange
    cloudformation.on(DescribeStacksCommand, { StackName: 'chat' }).resolves({
      Stacks: [
        {
          StackName: 'chat',
          CreationTime: new Date(),
          StackStatus: 'UPDATE_COMPLETE',
          Parameters: [
            { ParameterKey: 'AuthMode', ParameterValue: 'oidc' },
            { ParameterKey: 'OidcIssuerUrl', ParameterValue: 'https://issuer.example.com' },
            { ParameterKey: 'Tracing', ParameterValue: 'PassThrough' },
            { ParameterKey: 'MessageRetentionDays', ParameterValue: '30' },
          ],
          Outputs: [
            { OutputKey: 'ConnectionsTableName', OutputValue: 'chat-ConnectionsTable-X' },
            { OutputKey: 'MessagesTableName', OutputValue: 'chat-MessagesTable-X' },
            { OutputKey: 'RateLimitsTableName', OutputValue: 'chat-RateLimitsTable-X' },
            { OutputKey: 'FanoutQueueURL', OutputValue: 'https://sqs.eu-west-1.amazonaws.com/1/chat-FanoutQueue-X' },
            { OutputKey: 'ManagementApiEndpoint', OutputValue: 'https://abc.execute-api.eu-west-1.amazonaws.com/production' },
            { OutputKey: 'TokenIssuer', OutputValue: 'https://issuer.example.com' },
            { OutputKey: 'TokenAudience', OutputValue: 'chat' },
          ],
        },
      ],
    });

    // Act
    const env = envFromStack(template, stackValues(await describeStack('chat', 'eu-west-1')));

    // Assess
    expect(env.SendMessageFunction).to.deep.include({
      CONNECTIONS_URL: 'https://abc.execute-api.eu-west-1.amazonaws.com/production',
      MESSAGE_RETENTION_DAYS: '30',
      POWERTOOLS_TRACE_ENABLED: 'false',
      FANOUT_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/chat-FanoutQueue-X',
    });
    // An oidc stack has no TokenJwksUrl output: the variable is not set there (keys by discovery).
    expect(env.AuthorizerFunction).to.deep.include({
      AUTH_MODE: 'oidc',
      TOKEN_ISSUER: 'https://issuer.example.com',
      TOKEN_AUDIENCE: 'chat',
      TOKEN_JWKS_URL: '',
    });
  });

  it('says which stack it could not describe', async () => {
    // Arrange
    cloudformation.on(DescribeStacksCommand).rejects(new Error('Stack with id nope does not exist'));

    // Act
    const error = await describeStack('nope', 'us-east-1').then(
      () => undefined,
      (e: unknown) => e as Error,
    );

    // Assess
    expect(error?.message).to.equal('describe-stacks nope in us-east-1: Stack with id nope does not exist');
  });

  it("takes the stack name and region from samconfig.toml's environment", () => {
    // Arrange
    const dir = mkdtempSync(path.join(os.tmpdir(), 'samconfig-'));
    const file = path.join(dir, 'samconfig.toml');
    writeFileSync(
      file,
      'version = 0.1\n[default.global.parameters]\nstack_name = "chat"\n[prod.deploy.parameters]\nstack_name = "chat-prod"\nregion = "eu-west-1"\n',
    );

    try {
      // Act, Assess
      expect(samconfigTarget(file, 'default')).to.deep.equal({ stackName: 'chat', region: undefined });
      expect(samconfigTarget(file, 'prod')).to.deep.equal({ stackName: 'chat-prod', region: 'eu-west-1' });
      expect(samconfigTarget(path.join(dir, 'none.toml'), 'default')).to.deep.equal({});
      expect(samconfigTarget(path.join(ROOT, 'samconfig.toml'), 'default').stackName).to.equal('websocket-api-chat-app-tutorial');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
