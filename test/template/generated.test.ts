/**
 * The fully transformed CloudFormation template (`npm run template:generate`, the SAM
 * translator run offline) is what CloudFormation will create: plain resource types only,
 * every function on the layer with the chosen runtime, architecture and tracing, routes
 * wired to their own functions, permissions and role policies scoped to this stack.
 */
import { existsSync, rmSync } from 'node:fs';
import { expect } from 'chai';
import {
  GENERATED_PATH,
  TOOL_TIMEOUT_MS,
  describeApp,
  fromMappings,
  loadGenerated,
  loadTemplate,
  output,
  referencedIds,
  resourcesOfType,
  routeDirectory,
  run,
  subText,
  type AppInfo,
  type Resource,
  type Template,
  httpApiRoutes,
  webSocketStages,
} from './helpers';

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

interface RoleProperties {
  ManagedPolicyArns?: unknown[];
  Policies?: Array<{ PolicyName: string; PolicyDocument: { Statement: Statement[] } }>;
  AssumeRolePolicyDocument: { Statement: Array<{ Principal: { Service: string[] } }> };
}

const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** The managed policies SAM attaches by itself: logs, and X-Ray for `Tracing: Active`. */
const SAM_MANAGED_POLICIES = [
  'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
  'arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess',
];

describe('generated CloudFormation template (dist/cloudformation.json)', function () {
  this.timeout(TOOL_TIMEOUT_MS);
  let app: AppInfo;
  let cfn: Template;
  let functions: Array<[string, Resource]>;

  before(async () => {
    app = describeApp(loadTemplate());
    rmSync(GENERATED_PATH, { force: true });
    const result = await run('npm', ['run', '--silent', 'template:generate']);
    expect(result.code, output(result)).to.equal(0);
    expect(existsSync(GENERATED_PATH), GENERATED_PATH).to.equal(true);
    cfn = loadGenerated();
    functions = resourcesOfType(cfn, 'AWS::Lambda::Function');
  });

  const props = (id: string): Record<string, unknown> => {
    const resource = cfn.Resources[id];
    if (!resource) throw new Error(`no resource ${id} in the generated template`);
    return resource.Properties ?? {};
  };

  it('has no Transform and only plain CloudFormation resource types', () => {
    expect(cfn).not.to.have.property('Transform');
    expect(cfn).not.to.have.property('Globals');
    const types = new Set(Object.values(cfn.Resources).map((resource) => resource.Type));
    expect([...types].filter((type) => type.startsWith('AWS::Serverless::'))).to.deep.equal([]);
    expect([...types].filter((type) => !/^AWS::[A-Za-z0-9]+::[A-Za-z0-9]+$/.test(type))).to.deep.equal([]);
    for (const type of [
      'AWS::Lambda::Function',
      'AWS::Lambda::LayerVersion',
      'AWS::IAM::Role',
      'AWS::Lambda::Permission',
      'AWS::Logs::LogGroup',
    ]) {
      expect(types.has(type), type).to.equal(true);
    }
  });

  it('turns every SAM function into a Lambda function with its own role, from its CodeUri', () => {
    expect(functions.map(([id]) => id).sort()).to.deep.equal(app.functions.map((fn) => fn.logicalId).sort());
    for (const fn of app.functions) {
      const p = props(fn.logicalId);
      expect(p.Code, fn.logicalId).to.deep.equal({ S3Bucket: 'sam-offline-placeholder', S3Key: fn.codeUri });
      expect(p.Role, fn.logicalId).to.deep.equal({ 'Fn::GetAtt': [`${fn.logicalId}Role`, 'Arn'] });
      expect(cfn.Resources[`${fn.logicalId}Role`]?.Type).to.equal('AWS::IAM::Role');
    }
  });

  it("runs every function on nodejs24.x, arm64, with the Tracing parameter's mode and the shared layer", () => {
    const layerIds = resourcesOfType(cfn, 'AWS::Lambda::LayerVersion').map(([id]) => id);
    expect(layerIds).to.have.length(app.layers.length);
    // SAM renames a layer to <LogicalId><hash> so that each change publishes a new version.
    for (const layer of app.layers)
      expect(
        layerIds.some((id) => id.startsWith(layer.logicalId)),
        layer.logicalId,
      ).to.equal(true);
    for (const [id] of functions) {
      const p = props(id);
      expect(p.Runtime, id).to.equal('nodejs24.x');
      expect(p.Architectures, id).to.deep.equal(['arm64']);
      expect(p.TracingConfig, id).to.deep.equal({ Mode: { Ref: 'Tracing' } });
      const variables = (p.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables.POWERTOOLS_TRACE_ENABLED, id).to.deep.equal({ 'Fn::If': ['TracingActive', 'true', 'false'] });
      expect(p.Handler, id).to.equal('index.handler');
      expect(p.Layers, id).to.deep.equal(layerIds.map((layerId) => ({ Ref: layerId })));
    }
  });

  it('publishes the layer for nodejs24.x on arm64', () => {
    for (const [id] of resourcesOfType(cfn, 'AWS::Lambda::LayerVersion')) {
      const p = props(id);
      expect(p.CompatibleRuntimes, id).to.deep.equal(['nodejs24.x']);
      expect(p.CompatibleArchitectures, id).to.deep.equal(['arm64']);
      expect((p.Content as { S3Key?: string }).S3Key, id).to.match(/^layers\//);
    }
  });

  it('routes every WebSocket route to an AWS_PROXY integration of its own function (functions/<route>)', () => {
    const routes = resourcesOfType(cfn, 'AWS::ApiGatewayV2::Route');
    expect(routes.map(([id]) => id).sort()).to.deep.equal(app.routes.map((route) => route.logicalId).sort());
    const served = new Set<string>();
    for (const route of app.routes) {
      const p = props(route.logicalId);
      expect(p.ApiId, route.logicalId).to.deep.equal({ Ref: app.apiId });
      expect(p.Target, route.logicalId).to.deep.equal({ 'Fn::Sub': `integrations/\${${route.integrationId}}` });
      const integration = props(route.integrationId);
      expect(integration.ApiId).to.deep.equal({ Ref: app.apiId });
      expect(integration.IntegrationType, route.integrationId).to.equal('AWS_PROXY');
      expect(integration.IntegrationUri, route.integrationId).to.deep.equal({
        'Fn::Sub': `arn:\${AWS::Partition}:apigateway:\${AWS::Region}:lambda:path/2015-03-31/functions/\${${route.functionId}.Arn}/invocations`,
      });
      expect(cfn.Resources[route.functionId]?.Type, route.functionId).to.equal('AWS::Lambda::Function');
      expect((props(route.functionId).Code as { S3Key: string }).S3Key, route.routeKey).to.equal(
        `functions/${routeDirectory(route.routeKey)}`,
      );
      expect(served.has(route.functionId), `${route.functionId} serves two routes`).to.equal(false);
      served.add(route.functionId);
    }
  });

  it('invokes every function from something: a route, an authorizer, or an event source mapping', () => {
    const triggered = new Set([
      ...app.routes.map((route) => route.functionId),
      ...httpApiRoutes(cfn).map((route) => route.functionId),
      ...app.authorizers.map((authorizer) => authorizer.functionId),
      ...resourcesOfType(cfn, 'AWS::Lambda::EventSourceMapping').flatMap(([, mapping]) => referencedIds(mapping.Properties?.FunctionName)),
    ]);
    expect(
      functions.map(([id]) => id).filter((id) => !triggered.has(id)),
      'functions nothing invokes',
    ).to.deep.equal([]);
  });

  it("lets API Gateway invoke each route's function only from this API, on its own route", () => {
    const permissions = resourcesOfType(cfn, 'AWS::Lambda::Permission');
    // Every permission is for API Gateway (others would need their own scoping check here).
    const httpRoutes = httpApiRoutes(cfn);
    expect(permissions.map(([, permission]) => permission.Properties?.Principal)).to.deep.equal(
      [...app.routes, ...app.authorizers, ...httpRoutes].map(() => 'apigateway.amazonaws.com'),
    );
    // A route of the backend HTTP API (SAM's own permission): only from that API, on its method and path.
    for (const route of httpRoutes) {
      const mine = permissions.filter(
        ([, permission]) =>
          referencedIds(permission.Properties?.FunctionName).includes(route.functionId) &&
          JSON.stringify(permission.Properties?.SourceArn).includes(route.apiId),
      );
      expect(mine, `permissions of ${route.functionId} on ${route.apiId}`).to.have.length(1);
      const [text, variables] = (mine[0]![1].Properties?.SourceArn as { 'Fn::Sub': [string, Record<string, unknown>] })['Fn::Sub'];
      expect(text, route.functionId).to.equal(
        `arn:\${AWS::Partition}:execute-api:\${AWS::Region}:\${AWS::AccountId}:\${__ApiId__}/\${__Stage__}/${route.method}${route.path}`,
      );
      expect(variables.__ApiId__).to.deep.equal({ Ref: route.apiId });
    }
    for (const route of app.routes) {
      const mine = permissions.filter(
        ([, permission]) =>
          referencedIds(permission.Properties?.FunctionName).includes(route.functionId) &&
          JSON.stringify(permission.Properties?.SourceArn).includes(app.apiId),
      );
      expect(mine, `permissions of ${route.functionId}`).to.have.length(1);
      const p = mine[0]![1].Properties ?? {};
      expect(p.Action).to.equal('lambda:InvokeFunction');
      expect(p.Principal).to.equal('apigateway.amazonaws.com');
      // A loop of the template writes the route key through Fn::FindInMap; it names the same ARN.
      const sourceArn = p.SourceArn as { 'Fn::Sub': string | [string, Record<string, unknown>] };
      const [text, variables] = [sourceArn['Fn::Sub']].flat() as [string, Record<string, unknown> | undefined];
      const routeKey = variables?.RouteKey === undefined ? route.routeKey : fromMappings(cfn, variables.RouteKey);
      expect(text.replace('${RouteKey}', String(routeKey)), route.functionId).to.equal(
        `arn:\${AWS::Partition}:execute-api:\${AWS::Region}:\${AWS::AccountId}:\${${app.apiId}}/*/${route.routeKey}`,
      );
      expect(Object.keys(variables ?? {}), `${route.functionId}: no Sub variable but the route key`).to.satisfy((keys: string[]) =>
        keys.every((key) => key === 'RouteKey'),
      );
    }
    // An authorizer's function: only from this API's authorizer that names it.
    for (const authorizer of app.authorizers) {
      const mine = permissions.filter(([, permission]) =>
        referencedIds(permission.Properties?.FunctionName).includes(authorizer.functionId),
      );
      expect(mine, `permissions of ${authorizer.functionId}`).to.have.length(1);
      expect(mine[0]![1].Properties?.SourceArn, authorizer.functionId).to.deep.equal({
        'Fn::Sub': `arn:\${AWS::Partition}:execute-api:\${AWS::Region}:\${AWS::AccountId}:\${${app.apiId}}/authorizers/\${${authorizer.logicalId}}`,
      });
    }
  });

  /** `{"Fn::If": [condition, a, b]}` as its branches, AWS::NoValue left out; anything else as itself. */
  function conditionalBranches<T>(value: T): T[] {
    const branches = (value as { 'Fn::If'?: [string, T, T] })['Fn::If'];
    if (!branches) return [value];
    return branches
      .slice(1)
      .flatMap((branch) => conditionalBranches(branch as T))
      .filter((b) => (b as { Ref?: string }).Ref !== 'AWS::NoValue');
  }

  it("gives each role only scoped inline resources and no wildcard action; '*' only through SAM's X-Ray policy", () => {
    const stackIds = new Set(Object.keys(cfn.Resources));
    const parameters = new Set(Object.keys(cfn.Parameters ?? {}));
    for (const [id] of functions) {
      const role = props(`${id}Role`) as unknown as RoleProperties;
      expect(
        role.AssumeRolePolicyDocument.Statement.flatMap((s) => s.Principal.Service),
        id,
      ).to.deep.equal(['lambda.amazonaws.com']);
      expect(role.ManagedPolicyArns, `${id} managed policies`).to.deep.equal(SAM_MANAGED_POLICIES);
      // A statement granted under a condition (`Fn::If`): each of its branches is a statement, or none.
      const statements = (role.Policies ?? []).flatMap((policy) => policy.PolicyDocument.Statement).flatMap(conditionalBranches);
      // An authorizer calls no AWS service: no statement at all (its keys come over HTTPS).
      if (app.authorizers.some((authorizer) => authorizer.functionId === id)) expect(statements, id).to.deep.equal([]);
      else expect(statements, id).to.have.length.greaterThan(0);
      for (const statement of statements) {
        const where = `${id}: ${JSON.stringify(statement)}`;
        expect(statement.Effect, where).to.equal('Allow');
        for (const action of asArray(statement.Action)) expect(action, where).to.match(/^[a-z0-9-]+:[A-Za-z]+$/);
        const xrayOnly = asArray(statement.Action).every((action) => action.startsWith('xray:'));
        for (const resource of asArray(statement.Resource)) {
          if (xrayOnly && resource === '*') continue;
          expect(resource, `${where}: a literal resource is not scoped to this stack`).to.be.an('object');
          const refs = referencedIds(resource);
          expect(
            refs.filter((ref) => stackIds.has(ref)),
            `${where}: names no resource of this stack`,
          ).not.to.be.empty;
          expect(
            refs.filter((ref) => !stackIds.has(ref) && !parameters.has(ref)),
            where,
          ).to.deep.equal([]);
          const text = subText(resource);
          if (text !== undefined) {
            // The only wildcard allowed is the connection id of @connections/{id}.
            expect(text.replace(/\/@connections\/\*$/, ''), where).not.to.include('*');
            if (text.includes(':execute-api:')) {
              expect(text, where).to.match(new RegExp(`:\\$\\{${app.apiId}\\}/\\$\\{StageName\\}/(GET|POST|DELETE)/@connections/\\*$`));
            }
          }
        }
      }
    }
  });

  it("keeps every function's logs in its own log group, with retention", () => {
    const groups = resourcesOfType(cfn, 'AWS::Logs::LogGroup');
    const linked = new Set<string>();
    for (const [id, fn] of functions) {
      // LoggingConfig's Ref is also what makes CloudFormation create the group first and delete it last.
      const configured = (fn.Properties?.LoggingConfig as { LogGroup?: unknown } | undefined)?.LogGroup;
      expect(configured, `${id} LoggingConfig.LogGroup`).to.have.property('Ref');
      const groupId = (configured as { Ref: string }).Ref;
      expect(cfn.Resources[groupId]?.Type, `${id} logs to ${groupId}`).to.equal('AWS::Logs::LogGroup');
      expect(linked.has(groupId), `${groupId} serves two functions`).to.equal(false);
      linked.add(groupId);
      const group = cfn.Resources[groupId]?.Properties ?? {};
      expect(group.RetentionInDays, `${groupId} retention`).to.deep.equal({ Ref: 'LogRetentionDays' });
      // Named from the stack: a name from the function would make the group wait for the function.
      const name = subText(group.LogGroupName) ?? '';
      expect(name, `${groupId} LogGroupName`).to.match(/^\/aws\/lambda\/\$\{AWS::StackName\}\//);
      expect(referencedIds(group.LogGroupName), `${groupId} LogGroupName refers to`).to.deep.equal([]);
    }
    // The one other group is the stage's access log (StageAccessLogs on), the stage's own destination.
    const stage = webSocketStages(cfn)[0]?.[1];
    expect(JSON.stringify(stage?.Properties?.AccessLogSettings), 'the stage logs to StageAccessLogGroup').to.include('StageAccessLogGroup');
    expect(cfn.Resources.StageAccessLogGroup?.Properties?.RetentionInDays).to.deep.equal({ Ref: 'LogRetentionDays' });
    expect(
      groups.map(([groupId]) => groupId).filter((groupId) => !linked.has(groupId)),
      'log groups no function uses',
    ).to.deep.equal(['StageAccessLogGroup']);
    expect(cfn.Parameters?.LogRetentionDays?.Default, 'LogRetentionDays default').to.be.a('number').and.to.be.within(1, 3653);
  });

  it('outputs the wss:// URL, the @connections URL and the connections table name', () => {
    const outputs = cfn.Outputs ?? {};
    expect(subText(outputs.WebSocketURL?.Value)).to.equal(
      `wss://\${${app.apiId}}.execute-api.\${AWS::Region}.\${AWS::URLSuffix}/\${StageName}`,
    );
    expect(subText(outputs.ConnectionsURL?.Value)).to.equal(
      `https://\${${app.apiId}}.execute-api.\${AWS::Region}.\${AWS::URLSuffix}/\${StageName}/@connections`,
    );
    const tableRef = (outputs.ConnectionsTableName?.Value as { Ref?: string } | undefined)?.Ref ?? '';
    const table = cfn.Resources[tableRef];
    expect(table?.Type, `ConnectionsTableName -> ${tableRef}`).to.equal('AWS::DynamoDB::Table');
    expect(table?.Properties?.KeySchema).to.deep.equal([{ AttributeName: 'connectionId', KeyType: 'HASH' }]);
  });
});
