/**
 * The security settings docs/SECURITY.md relies on, read from template.yaml: encryption at
 * rest, data retention (TTL, point-in-time recovery, queue retention), the stage's throttling
 * and the chat's own limits wired to the template's Tuning constants, no way into a function but its route
 * (or its authorizer), and the routes as open as the document says (open with AuthMode none, as
 * in the tutorial; $connect behind the token authorizer otherwise). A change to any of these
 * changes the threat model: this test fails so that the document is updated too.
 */
import { expect } from 'chai';
import { expandLanguageExtensions } from '../../local/src/template/language-extensions';
import { readTemplateFile } from '../../local/src/template/template-yaml';
import { fromMappings, type Template } from '../template/helpers';
import { PROJECT_TEMPLATE } from './helpers';

type Resource = { Type: string; Condition?: string; Properties?: Record<string, unknown> };
type Parameter = { Type: string; Default?: unknown; MinValue?: number; MaxValue?: number };

describe('hardening: security settings of template.yaml (as docs/SECURITY.md describes them)', () => {
  let resources: Record<string, Resource>;
  let parameters: Record<string, Parameter>;
  let template: Record<string, unknown>;
  /** Each function's own environment variables, by logical id. */
  let variables: Record<string, Record<string, unknown>>;
  /** Mappings.Tuning: the chat's internals, constants rather than parameters. */
  let tuning: Record<string, Record<string, unknown>>;
  const ofType = (type: string): [string, Resource][] => Object.entries(resources).filter(([, r]) => r.Type === type);
  const tuned = (group: string, name: string) => ({ 'Fn::FindInMap': ['Tuning', group, name] });

  before(async () => {
    template = expandLanguageExtensions(await readTemplateFile(PROJECT_TEMPLATE));
    resources = template.Resources as Record<string, Resource>;
    parameters = template.Parameters as Record<string, Parameter>;
    tuning = (template.Mappings as Record<string, typeof tuning>).Tuning ?? {};
    variables = Object.fromEntries(
      Object.entries(resources)
        .filter(([, r]) => r.Type === 'AWS::Serverless::Function')
        .map(([id, r]) => [id, (r.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}]),
    );
  });

  it('encrypts every table at rest with the AWS owned key (no billed KMS key) and every queue with SQS-managed SSE', () => {
    const tables = ofType('AWS::DynamoDB::Table');
    expect(tables.map(([id]) => id).sort()).to.deep.equal(['ConnectionsTable', 'MessagesTable', 'RateLimitsTable']);
    for (const [id, table] of tables)
      expect(table.Properties?.SSESpecification, `${id}: update docs/SECURITY.md 5.9 if this changes`).to.equal(undefined);
    const queues = ofType('AWS::SQS::Queue');
    expect(queues).to.have.length.above(0);
    for (const [id, queue] of queues) expect(queue.Properties?.SqsManagedSseEnabled, id).to.equal(true);
  });

  it('expires connections and messages with DynamoDB TTL on expiresAt; messages after MessageRetentionDays (1-365, default 7)', () => {
    for (const [id, table] of ofType('AWS::DynamoDB::Table')) {
      expect(table.Properties?.TimeToLiveSpecification, id).to.deep.equal({ AttributeName: 'expiresAt', Enabled: true });
    }
    expect(parameters.MessageRetentionDays).to.include({ Default: 7, MinValue: 1, MaxValue: 365 });
    expect(variables.SendMessageFunction?.MESSAGE_RETENTION_DAYS).to.deep.equal({ Ref: 'MessageRetentionDays' });
  });

  it('keeps backups and dead letters for the periods the document states (PITR 35 days on messages, 14 days of dead-lettered shards, 1 hour on the fan-out queue)', () => {
    expect(resources.MessagesTable?.Properties?.PointInTimeRecoverySpecification).to.deep.equal({ PointInTimeRecoveryEnabled: true });
    expect(resources.ConnectionsTable?.Properties?.PointInTimeRecoverySpecification, 'no backups of connection ids').to.equal(undefined);
    expect(resources.RateLimitsTable?.Properties?.PointInTimeRecoverySpecification, 'no backups of addresses and user ids').to.equal(
      undefined,
    );
    expect(resources.FanoutDeadLetterQueue?.Properties?.MessageRetentionPeriod).to.equal(1209600);
    expect(resources.FanoutQueue?.Properties?.MessageRetentionPeriod).to.equal(3600);
  });

  it("throttles the stage from the Tuning constants, and limits each connection's messages (MESSAGE_RATE_LIMIT) and their size (MAX_MESSAGE_BYTES < 32 KB frames)", () => {
    const [[, stage]] = ofType('AWS::ApiGatewayV2::Stage') as [[string, Resource]];
    expect(stage.Properties?.DefaultRouteSettings).to.deep.equal({
      ThrottlingBurstLimit: tuned('Stage', 'ThrottlingBurstLimit'),
      ThrottlingRateLimit: tuned('Stage', 'ThrottlingRateLimit'),
    });
    expect(tuning.Stage).to.deep.equal({ ThrottlingBurstLimit: 500, ThrottlingRateLimit: 1000 });
    expect(tuning.Limits).to.include({ MessageRateLimit: '20', MaxMessageBytes: '4096' });
    expect(variables.SendMessageFunction?.MESSAGE_RATE_LIMIT).to.deep.equal(tuned('Limits', 'MessageRateLimit'));
    expect(variables.SendMessageFunction?.MAX_MESSAGE_BYTES).to.deep.equal(tuned('Limits', 'MaxMessageBytes'));
  });

  it('limits every route per connection and per identity or source IP, connects too, and rooms in size, from the Tuning constants', () => {
    expect(tuning.Limits).to.deep.include({
      RequestRateLimit: '30',
      ConnectRateLimit: '30',
      IdentityMessageRateLimit: '100',
      IdentityRequestRateLimit: '100',
      MaxRoomSize: '5000',
    });
    expect(variables.ConnectFunction).to.deep.include({
      CONNECT_RATE_LIMIT: tuned('Limits', 'ConnectRateLimit'),
      MAX_ROOM_SIZE: tuned('Limits', 'MaxRoomSize'),
    });
    expect(variables.SendMessageFunction?.IDENTITY_MESSAGE_RATE_LIMIT).to.deep.equal(tuned('Limits', 'IdentityMessageRateLimit'));
    for (const id of ['HistoryFunction', 'MembersFunction', 'DefaultFunction']) {
      expect(variables[id], id).to.deep.include({
        REQUEST_RATE_LIMIT: tuned('Limits', 'RequestRateLimit'),
        IDENTITY_REQUEST_RATE_LIMIT: tuned('Limits', 'IdentityRequestRateLimit'),
      });
    }
  });

  it('lets nothing call a function but its route, its authorizer or its queue: no function URL, every permission for API Gateway scoped to one route or authorizer of this API', () => {
    expect(ofType('AWS::Lambda::Url'), 'function URLs').to.deep.equal([]);
    for (const [id, fn] of ofType('AWS::Serverless::Function'))
      expect(fn.Properties?.FunctionUrlConfig, `${id} FunctionUrlConfig`).to.equal(undefined);
    const permissions = ofType('AWS::Lambda::Permission');
    expect(permissions).to.have.length(ofType('AWS::ApiGatewayV2::Route').length + ofType('AWS::ApiGatewayV2::Authorizer').length);
    for (const [id, permission] of permissions) {
      expect(permission.Properties?.Principal, id).to.equal('apigateway.amazonaws.com');
      expect(JSON.stringify(permission.Properties?.SourceArn), `${id} SourceArn`).to.match(
        /\$\{ChatApi\}\/(\*\/[^*"]+|authorizers\/\$\{[A-Za-z]+\})"/,
      );
    }
  });

  it('authenticates $connect with the token authorizer when AuthMode is cognito or oidc, and leaves it open with the default none, as the tutorial does (docs/SECURITY.md G1)', () => {
    // Route keys of the template's loop come from Mappings.Functions (Fn::FindInMap of literal keys).
    const keyOf = (value: unknown): unknown => fromMappings(template as unknown as Template, value);
    const routes = ofType('AWS::ApiGatewayV2::Route').map(
      ([id, r]) => [id, { ...r, Properties: { ...r.Properties, RouteKey: keyOf(r.Properties?.RouteKey) } }] as [string, Resource],
    );
    expect(routes.map(([, r]) => r.Properties?.RouteKey)).to.include.members([
      '$connect',
      '$disconnect',
      '$default',
      'sendmessage',
      'history',
      'members',
    ]);
    // WebSocket APIs authorize the connection, on $connect only: the other routes carry its identity.
    for (const [id, route] of routes.filter(([, r]) => r.Properties?.RouteKey !== '$connect')) {
      expect(route.Properties?.AuthorizationType, `${id}: update docs/SECURITY.md if this changes`).to.equal('NONE');
    }
    const connect = routes.find(([, r]) => r.Properties?.RouteKey === '$connect')?.[1].Properties ?? {};
    expect(connect.AuthorizationType).to.deep.equal({ 'Fn::If': ['AuthEnabled', 'CUSTOM', 'NONE'] });
    const authorizers = ofType('AWS::ApiGatewayV2::Authorizer');
    expect(authorizers.map(([id]) => id)).to.deep.equal(['ChatAuthorizer']);
    expect(connect.AuthorizerId).to.deep.equal({ 'Fn::If': ['AuthEnabled', { Ref: 'ChatAuthorizer' }, { Ref: 'AWS::NoValue' }] });
    expect(parameters.AuthMode).to.include({ Default: 'none' });
    expect((template.Conditions as Record<string, unknown>).AuthEnabled).to.deep.equal({
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AuthMode' }, 'none'] }],
    });
    expect(authorizers[0]?.[1].Condition).to.equal('AuthEnabled');
    expect(authorizers[0]?.[1].Properties?.AuthorizerType).to.equal('REQUEST');
  });
});
