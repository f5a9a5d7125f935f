/**
 * The local runtime's view of template.yaml: the WebSocket API (routes, selection expression,
 * stage), the functions that serve its routes, their layers, and the DynamoDB tables.
 * Everything the runtime runs comes from here; there is no second list of routes.
 */
import { createHash } from 'node:crypto';
import { basename, dirname, resolve } from 'node:path';
import { type FunctionRole, readRoles } from './roles.js';
import { referencedIds, resolveValue, type PseudoParameters, type ResolveContext } from './intrinsics.js';
import { readTemplateFile } from './template-yaml.js';

export interface EsbuildProperties {
  EntryPoints?: string[];
  External?: string[];
  Format?: string;
  Target?: string;
  Minify?: boolean;
  Sourcemap?: boolean;
  Loader?: string[];
  MainFields?: string | string[];
  OutExtension?: string[];
  Banner?: string;
  Footer?: string;
}

export interface FunctionModel {
  logicalId: string;
  functionName: string;
  /** Absolute path of CodeUri. */
  codeUri: string;
  handler: string;
  runtime: string;
  timeoutSeconds: number;
  memoryMb: number;
  /** Environment variables, intrinsic functions resolved (execute-api URLs still point at AWS). */
  environment: Record<string, string>;
  /** LoggingConfig's LogGroup, else Lambda's default /aws/lambda/<function name>. */
  logGroupName: string;
  /** Logical ids of the template's layers the function uses. */
  layers: string[];
  buildMethod: string | undefined;
  buildProperties: EsbuildProperties;
}

export interface LayerModel {
  logicalId: string;
  contentUri: string;
  buildMethod: string | undefined;
}

export interface KeyElement {
  AttributeName: string;
  KeyType: 'HASH' | 'RANGE';
}
export interface IndexModel {
  IndexName: string;
  KeySchema: KeyElement[];
  Projection: Record<string, unknown>;
}

export interface TableModel {
  logicalId: string;
  tableName: string;
  attributeDefinitions: { AttributeName: string; AttributeType: 'S' | 'N' | 'B' }[];
  keySchema: KeyElement[];
  globalSecondaryIndexes: IndexModel[];
  localSecondaryIndexes: IndexModel[];
  /** The TTL attribute, when TimeToLiveSpecification is enabled. */
  ttlAttribute: string | undefined;
}

export interface QueueModel {
  logicalId: string;
  queueName: string;
  arn: string;
  visibilityTimeoutSeconds: number;
  retentionSeconds: number;
  delaySeconds: number;
  /** RedrivePolicy: the dead-letter queue's logical id and the receives before a message moves there. */
  redrive?: { deadLetterQueueId: string; maxReceiveCount: number };
}

/** An SQS event source mapping (AWS::Lambda::EventSourceMapping, or a SAM function's SQS event). */
export interface QueueMappingModel {
  queueId: string;
  functionId: string;
  batchSize: number;
  reportBatchItemFailures: boolean;
  enabled: boolean;
  maximumConcurrency: number | undefined;
}

export interface RouteModel {
  routeKey: string;
  /** Logical id of the function the route's AWS_PROXY integration invokes. */
  functionId: string;
  /** True when the route has a route response: the function's `body` is sent back to the caller. */
  twoWay: boolean;
  /** The Lambda REQUEST authorizer the route's AuthorizationType CUSTOM names ($connect only, in WebSocket APIs). */
  authorizer?: AuthorizerModel;
}

/** An AWS::ApiGatewayV2::Authorizer of type REQUEST: a function API Gateway asks before $connect. */
export interface AuthorizerModel {
  logicalId: string;
  /** The function its AuthorizerUri invokes. */
  functionId: string;
  /** Its IdentitySource expressions (route.request.header.X, route.request.querystring.X, ...), each required. */
  identitySource: string[];
}

/** An AWS::Cognito::UserPool: locally, the runtime is its token issuer (local/src/cognito/token-issuer.ts). */
export interface UserPoolModel {
  logicalId: string;
  /** Its local id, shaped like Cognito's (`us-east-1_AbC123xYz`), stable for a template. */
  poolId: string;
  /** https://cognito-idp.<region>.<suffix>/<poolId>: the `iss` of its tokens, as on AWS. */
  issuer: string;
  /** The ids of its app clients (AWS::Cognito::UserPoolClient): the `aud` of its ID tokens. */
  clientIds: string[];
}

export interface RouteLimits {
  burst: number;
  rate: number;
}

/** The stage's route throttling (apigateway/throttle.ts applies it). */
export interface StageThrottling {
  defaults: RouteLimits | undefined;
  routes: Record<string, RouteLimits>;
}

export interface TemplateModel {
  path: string;
  /** What the app is called: the start of the template's Description, else its API's Name, else its folder. */
  title: string;
  /** The directory CodeUri and ContentUri are relative to. */
  dir: string;
  apiLogicalId: string;
  apiId: string;
  routeSelectionExpression: string;
  stage: string;
  /** The stage's DefaultRouteSettings and RouteSettings throttling. */
  throttling: StageThrottling;
  routes: Map<string, RouteModel>;
  functions: Map<string, FunctionModel>;
  layers: Map<string, LayerModel>;
  tables: Map<string, TableModel>;
  queues: Map<string, QueueModel>;
  queueMappings: QueueMappingModel[];
  userPools: Map<string, UserPoolModel>;
  pseudo: PseudoParameters;
  /** Each function's execution role as SAM builds it (roles.ts), by logical id. */
  roles: Map<string, FunctionRole>;
  /** Warnings about what the local runtime skips. */
  warnings: string[];
  /** The template's resources as written (for what the model does not carry: IAM policies, stage settings). */
  resources: Record<string, TemplateResource>;
  /** Resolves intrinsic functions in a value taken from `resources`, with this model's parameters. */
  resolve(value: unknown): unknown;
}

export interface TemplateResource {
  Type: string;
  /** The condition that decides whether the resource exists. */
  Condition?: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}

export interface TemplateOptions {
  parameterOverrides?: Record<string, string>;
  region?: string;
  /**
   * Keep resources whose Condition is false (default: they do not exist, as in CloudFormation).
   * For `npm run token`: the local ids of a user pool and its clients do not depend on parameters.
   */
  includeConditionalResources?: boolean;
}

type Resource = TemplateResource;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const FUNCTION_TYPES = new Set(['AWS::Serverless::Function', 'AWS::Lambda::Function']);

/** `length` characters of `alphabet`, stable for a seed: local ids shaped like AWS's. */
function localId(seed: string, length: number, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'): string {
  const digest = createHash('sha256').update(seed).digest();
  return Array.from(digest.subarray(0, length), (b) => alphabet[b % alphabet.length]).join('');
}

/** Cognito's: a user pool id is `<region>_` and 9 letters and digits, an app client id 26 lowercase letters and digits. */
const MIXED_CASE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function parameterValues(params: unknown, overrides: Record<string, string>): Record<string, string | string[]> {
  const declared = isRecord(params) ? Object.keys(params) : [];
  const unknown = Object.keys(overrides).filter((name) => !declared.includes(name));
  if (unknown.length > 0) {
    // As CloudFormation refuses them: a misspelt override would otherwise be silently ignored.
    const known = declared.length > 0 ? `its parameters are ${declared.join(', ')}` : 'it has no parameters';
    throw new Error(
      `--parameter-overrides: ${unknown.join(', ')} ${unknown.length === 1 ? 'is not a parameter' : 'are not parameters'} of the template; ${known}`,
    );
  }
  const out: Record<string, string | string[]> = {};
  for (const [name, spec] of Object.entries(isRecord(params) ? params : {})) {
    const raw = overrides[name] ?? (isRecord(spec) ? spec.Default : undefined);
    if (raw === undefined) throw new Error(`parameter ${name} has no Default: pass a value for it`);
    const type = isRecord(spec) ? String(spec.Type ?? 'String') : 'String';
    const text = Array.isArray(raw) ? raw.join(',') : String(raw);
    out[name] = type === 'CommaDelimitedList' || type.startsWith('List<') ? text.split(',') : text;
  }
  return out;
}

function mergeGlobals(globals: Record<string, unknown>, props: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...globals };
  for (const [key, value] of Object.entries(props)) {
    const base = out[key];
    if (Array.isArray(base) && Array.isArray(value)) out[key] = [...base, ...value];
    else if (isRecord(base) && isRecord(value)) out[key] = mergeGlobals(base, value);
    else out[key] = value;
  }
  return out;
}

class TemplateReader {
  resources: Record<string, Resource>;
  readonly ctx: ResolveContext;
  readonly apiIds = new Map<string, string>();
  readonly warnings: string[] = [];

  constructor(
    readonly path: string,
    readonly doc: Record<string, unknown>,
    options: TemplateOptions,
  ) {
    const declared = (isRecord(doc.Resources) ? doc.Resources : {}) as Record<string, Resource>;
    this.resources = declared;
    const pseudo: PseudoParameters = {
      region: options.region ?? 'us-east-1',
      accountId: '123456789012',
      partition: 'aws',
      urlSuffix: 'amazonaws.com',
      stackName: 'local',
    };
    this.ctx = {
      pseudo,
      parameters: parameterValues(doc.Parameters, options.parameterOverrides ?? {}),
      mappings: (isRecord(doc.Mappings) ? doc.Mappings : {}) as ResolveContext['mappings'],
      conditions: isRecord(doc.Conditions) ? doc.Conditions : {},
      refResource: (id) => this.ref(id),
      getAtt: (id, attr) => this.getAtt(id, attr),
    };
    // As CloudFormation: a resource whose condition is false does not exist.
    if (!options.includeConditionalResources) {
      this.resources = Object.fromEntries(
        Object.entries(declared).filter(([, r]) => r.Condition === undefined || Boolean(this.resolve({ Condition: r.Condition }))),
      );
    }
  }

  resolve<T = unknown>(value: unknown): T {
    return resolveValue(value, this.ctx) as T;
  }

  ofType(type: string): [string, Resource][] {
    return Object.entries(this.resources).filter(([, r]) => r.Type === type);
  }

  apiId(logicalId: string): string {
    let id = this.apiIds.get(logicalId);
    if (!id) this.apiIds.set(logicalId, (id = localId(`${this.path}#${logicalId}`, 10)));
    return id;
  }

  userPoolId(logicalId: string): string {
    return `${this.ctx.pseudo.region}_${localId(`${this.path}#${logicalId}`, 9, MIXED_CASE)}`;
  }

  userPoolClientId(logicalId: string): string {
    return localId(`${this.path}#${logicalId}`, 26);
  }

  userPoolIssuer(logicalId: string): string {
    const { region, urlSuffix } = this.ctx.pseudo;
    return `https://cognito-idp.${region}.${urlSuffix}/${this.userPoolId(logicalId)}`;
  }

  tableName(id: string): string {
    const name = this.resources[id]?.Properties?.TableName;
    return name === undefined ? id : String(this.resolve(name));
  }

  functionName(id: string): string {
    const name = this.resources[id]?.Properties?.FunctionName;
    return name === undefined ? id : String(this.resolve(name));
  }

  logGroupName(id: string): string {
    const name = this.resources[id]?.Properties?.LogGroupName;
    return name === undefined ? id : String(this.resolve(name));
  }

  queueName(id: string): string {
    const name = this.resources[id]?.Properties?.QueueName;
    return name === undefined ? id : String(this.resolve(name));
  }

  ref(id: string): string | undefined {
    const resource = this.resources[id];
    if (!resource) return undefined;
    const { pseudo } = this.ctx;
    switch (resource.Type) {
      case 'AWS::DynamoDB::Table':
        return this.tableName(id);
      case 'AWS::Serverless::Function':
      case 'AWS::Lambda::Function':
        return this.functionName(id);
      case 'AWS::ApiGatewayV2::Api':
        return this.apiId(id);
      case 'AWS::ApiGatewayV2::Stage':
        return String(this.resolve(resource.Properties?.StageName));
      case 'AWS::SQS::Queue':
        return `https://sqs.${pseudo.region}.${pseudo.urlSuffix}/${pseudo.accountId}/${this.queueName(id)}`;
      case 'AWS::Logs::LogGroup':
        return this.logGroupName(id);
      case 'AWS::Serverless::LayerVersion':
      case 'AWS::Lambda::LayerVersion':
        return `arn:${pseudo.partition}:lambda:${pseudo.region}:${pseudo.accountId}:layer:${id}:1`;
      case 'AWS::Cognito::UserPool':
        return this.userPoolId(id);
      case 'AWS::Cognito::UserPoolClient':
        return this.userPoolClientId(id);
      case 'AWS::Cognito::UserPoolDomain':
        return String(this.resolve(resource.Properties?.Domain));
      default:
        return id;
    }
  }

  getAtt(id: string, attribute: string): string {
    const resource = this.resources[id];
    if (!resource) throw new Error(`Fn::GetAtt to unknown resource "${id}"`);
    const { partition, region, accountId, urlSuffix } = this.ctx.pseudo;
    const arn = (service: string, rest: string): string => `arn:${partition}:${service}:${region}:${accountId}:${rest}`;
    switch (`${resource.Type}.${attribute}`) {
      case 'AWS::DynamoDB::Table.Arn':
        return arn('dynamodb', `table/${this.tableName(id)}`);
      case 'AWS::DynamoDB::Table.StreamArn':
        return arn('dynamodb', `table/${this.tableName(id)}/stream/local`);
      case 'AWS::Serverless::Function.Arn':
      case 'AWS::Lambda::Function.Arn':
        return arn('lambda', `function:${this.functionName(id)}`);
      case 'AWS::SQS::Queue.Arn':
        return arn('sqs', this.queueName(id));
      case 'AWS::SQS::Queue.QueueName':
        return this.queueName(id);
      case 'AWS::SQS::Queue.QueueUrl':
        return String(this.ref(id));
      case 'AWS::ApiGatewayV2::Api.ApiId':
        return this.apiId(id);
      case 'AWS::ApiGatewayV2::Api.ApiEndpoint':
        return `wss://${this.apiId(id)}.execute-api.${region}.${urlSuffix}`;
      case 'AWS::Cognito::UserPool.Arn':
        return arn('cognito-idp', `userpool/${this.userPoolId(id)}`);
      case 'AWS::Cognito::UserPool.ProviderName':
      case 'AWS::Cognito::UserPool.ProviderURL':
        return this.userPoolIssuer(id).replace(/^https:\/\//, '');
      case 'AWS::Cognito::UserPool.UserPoolId':
        return this.userPoolId(id);
      case 'AWS::Cognito::UserPoolClient.ClientId':
        return this.userPoolClientId(id);
      default:
        return `${id}.${attribute}`;
    }
  }

  /** The first function resource a value refers to (an integration URI, a route target). */
  referencedFunction(value: unknown): string | undefined {
    return referencedIds(value).find((id) => FUNCTION_TYPES.has(this.resources[id]?.Type ?? ''));
  }
}

/** API Gateway's account-level defaults, for a setting given without its partner. */
const ACCOUNT_BURST = 5000;
const ACCOUNT_RATE = 10000;

function limitsOf(settings: unknown): RouteLimits | undefined {
  if (!isRecord(settings)) return undefined;
  const { ThrottlingBurstLimit: burst, ThrottlingRateLimit: rate } = settings;
  if (burst === undefined && rate === undefined) return undefined;
  return { burst: burst === undefined ? ACCOUNT_BURST : Number(burst), rate: rate === undefined ? ACCOUNT_RATE : Number(rate) };
}

/** The throttling settings of a stage's (resolved) properties. */
function readThrottling(props: Record<string, unknown>): StageThrottling {
  const routes: Record<string, RouteLimits> = {};
  for (const [routeKey, settings] of Object.entries(isRecord(props.RouteSettings) ? props.RouteSettings : {})) {
    const limits = limitsOf(settings);
    if (limits) routes[routeKey] = limits;
  }
  return { defaults: limitsOf(props.DefaultRouteSettings), routes };
}

function readApi(
  reader: TemplateReader,
): Pick<TemplateModel, 'apiLogicalId' | 'apiId' | 'routeSelectionExpression' | 'stage' | 'throttling' | 'routes'> {
  const apis = reader.ofType('AWS::ApiGatewayV2::Api').filter(([, r]) => r.Properties?.ProtocolType === 'WEBSOCKET');
  const first = apis[0];
  if (!first) throw new Error(`${reader.path}: no AWS::ApiGatewayV2::Api with ProtocolType WEBSOCKET`);
  if (apis.length > 1) reader.warnings.push(`several WebSocket APIs: serving ${first[0]} only`);
  const [apiLogicalId, api] = first;
  const belongsToApi = (r: Resource): boolean => referencedIds(r.Properties?.ApiId).includes(apiLogicalId);

  const stages = reader.ofType('AWS::ApiGatewayV2::Stage').filter(([, r]) => belongsToApi(r));
  const stage = stages[0] ? String(reader.resolve(stages[0][1].Properties?.StageName)) : '$default';
  if (stages.length > 1) reader.warnings.push(`several stages: serving ${stage} only`);

  const authorizers = readAuthorizers(reader, belongsToApi);
  const routeResponses = new Set(
    reader.ofType('AWS::ApiGatewayV2::RouteResponse').flatMap(([, r]) => referencedIds(r.Properties?.RouteId)),
  );
  const routes = new Map<string, RouteModel>();
  for (const [routeId, route] of reader.ofType('AWS::ApiGatewayV2::Route').filter(([, r]) => belongsToApi(r))) {
    const routeKey = String(reader.resolve(route.Properties?.RouteKey));
    const integrationId = referencedIds(route.Properties?.Target).find(
      (id) => reader.resources[id]?.Type === 'AWS::ApiGatewayV2::Integration',
    );
    const integration = integrationId ? reader.resources[integrationId] : undefined;
    const type = String(integration?.Properties?.IntegrationType ?? '');
    const functionId = reader.referencedFunction(integration?.Properties?.IntegrationUri);
    if (!integration || !functionId || (type !== 'AWS_PROXY' && type !== 'AWS')) {
      reader.warnings.push(`route ${routeKey} (${routeId}) has no Lambda integration the local runtime can run: skipped`);
      continue;
    }
    const authorizer = routeAuthorizer(reader, routeKey, route, authorizers);
    const twoWay = route.Properties?.RouteResponseSelectionExpression !== undefined && routeResponses.has(routeId);
    routes.set(routeKey, { routeKey, functionId, twoWay, ...(authorizer && { authorizer }) });
  }
  return {
    apiLogicalId,
    apiId: reader.apiId(apiLogicalId),
    routeSelectionExpression: String(reader.resolve(api.Properties?.RouteSelectionExpression ?? '$request.body.action')),
    stage,
    throttling: readThrottling((stages[0] ? reader.resolve(stages[0][1].Properties ?? {}) : {}) as Record<string, unknown>),
    routes,
  };
}

function readAuthorizers(reader: TemplateReader, belongsToApi: (r: Resource) => boolean): Map<string, AuthorizerModel> {
  const authorizers = new Map<string, AuthorizerModel>();
  for (const [id, resource] of reader.ofType('AWS::ApiGatewayV2::Authorizer').filter(([, r]) => belongsToApi(r))) {
    const p = resource.Properties ?? {};
    const type = String(reader.resolve(p.AuthorizerType ?? ''));
    const functionId = reader.referencedFunction(p.AuthorizerUri);
    if (type !== 'REQUEST' || !functionId) {
      reader.warnings.push(
        `authorizer ${id} (${type}) is not a Lambda REQUEST authorizer the local runtime can run: routes using it are refused`,
      );
      continue;
    }
    const sources = reader.resolve<unknown>(p.IdentitySource ?? []);
    const identitySource = (Array.isArray(sources) ? sources : String(sources).split(',')).map((s) => String(s).trim()).filter(Boolean);
    authorizers.set(id, { logicalId: id, functionId, identitySource });
  }
  return authorizers;
}

/**
 * The authorizer of a route whose AuthorizationType is CUSTOM. Other types (AWS_IAM) are not
 * emulated: the route stays open, with a warning. A CUSTOM route whose authorizer cannot run
 * locally is an error, so that nothing that is closed on AWS is open here.
 */
function routeAuthorizer(
  reader: TemplateReader,
  routeKey: string,
  route: Resource,
  authorizers: Map<string, AuthorizerModel>,
): AuthorizerModel | undefined {
  const auth = String(reader.resolve(route.Properties?.AuthorizationType ?? 'NONE'));
  if (auth === 'NONE') return undefined;
  if (auth !== 'CUSTOM') {
    reader.warnings.push(`route ${routeKey}: authorization ${auth} is not emulated locally; the route is open`);
    return undefined;
  }
  const id = reader.resolve(route.Properties?.AuthorizerId);
  const authorizer = typeof id === 'string' ? authorizers.get(id) : undefined;
  if (!authorizer)
    throw new Error(
      `route ${routeKey}: AuthorizationType CUSTOM names no Lambda REQUEST authorizer of this API (AuthorizerId ${JSON.stringify(id)})`,
    );
  return authorizer;
}

function readUserPools(reader: TemplateReader): Map<string, UserPoolModel> {
  const pools = new Map<string, UserPoolModel>();
  const clients = reader.ofType('AWS::Cognito::UserPoolClient');
  for (const [id] of reader.ofType('AWS::Cognito::UserPool')) {
    const clientIds = clients
      .filter(([, client]) => referencedIds(client.Properties?.UserPoolId).includes(id))
      .map(([clientId]) => reader.userPoolClientId(clientId));
    pools.set(id, { logicalId: id, poolId: reader.userPoolId(id), issuer: reader.userPoolIssuer(id), clientIds });
  }
  return pools;
}

function readFunction(reader: TemplateReader, dir: string, id: string, resource: Resource): FunctionModel {
  const globals = isRecord(reader.doc.Globals) && isRecord(reader.doc.Globals.Function) ? reader.doc.Globals.Function : {};
  const props =
    resource.Type === 'AWS::Serverless::Function' ? mergeGlobals(globals, resource.Properties ?? {}) : (resource.Properties ?? {});
  const env = reader.resolve<Record<string, unknown>>(isRecord(props.Environment) ? (props.Environment.Variables ?? {}) : {});
  const layers = (reader.resolve<unknown[]>(props.Layers ?? []) ?? []).map(String);
  const layerIds = referencedIds(props.Layers ?? []).filter((l) => reader.resources[l]?.Type?.endsWith('LayerVersion'));
  const external = layers.filter((arn) => !layerIds.some((l) => arn === reader.ref(l)));
  for (const arn of external) reader.warnings.push(`${id}: layer ${arn} is not in the template and is not available locally`);
  const codeUri = reader.resolve(props.CodeUri);
  if (typeof codeUri !== 'string') throw new Error(`${id}: CodeUri must be a local path`);
  const metadata = resource.Metadata ?? {};
  const logGroup = isRecord(props.LoggingConfig) ? reader.resolve(props.LoggingConfig.LogGroup) : undefined;
  return {
    logicalId: id,
    functionName: reader.functionName(id),
    logGroupName: typeof logGroup === 'string' ? logGroup : `/aws/lambda/${reader.functionName(id)}`,
    codeUri: resolve(dir, codeUri),
    handler: String(reader.resolve(props.Handler ?? 'index.handler')),
    runtime: String(reader.resolve(props.Runtime ?? 'nodejs20.x')),
    timeoutSeconds: Number(reader.resolve(props.Timeout ?? 3)),
    memoryMb: Number(reader.resolve(props.MemorySize ?? 128)),
    environment: Object.fromEntries(Object.entries(env).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])),
    layers: layerIds,
    buildMethod: typeof metadata.BuildMethod === 'string' ? metadata.BuildMethod : undefined,
    buildProperties: reader.resolve<EsbuildProperties>(metadata.BuildProperties ?? {}),
  };
}

function readTable(reader: TemplateReader, id: string, resource: Resource): TableModel {
  const p = reader.resolve<Record<string, unknown>>(resource.Properties ?? {});
  const ttl = isRecord(p.TimeToLiveSpecification) ? p.TimeToLiveSpecification : undefined;
  return {
    logicalId: id,
    tableName: reader.tableName(id),
    attributeDefinitions: (p.AttributeDefinitions ?? []) as TableModel['attributeDefinitions'],
    keySchema: (p.KeySchema ?? []) as KeyElement[],
    globalSecondaryIndexes: (p.GlobalSecondaryIndexes ?? []) as IndexModel[],
    localSecondaryIndexes: (p.LocalSecondaryIndexes ?? []) as IndexModel[],
    ttlAttribute: ttl && String(ttl.Enabled) === 'true' ? String(ttl.AttributeName) : undefined,
  };
}

function readQueues(reader: TemplateReader): Map<string, QueueModel> {
  const queues = new Map<string, QueueModel>();
  for (const [id, resource] of reader.ofType('AWS::SQS::Queue')) {
    const p = resource.Properties ?? {};
    const redrive = p.RedrivePolicy;
    const dlq = referencedIds(redrive).find((ref) => reader.resources[ref]?.Type === 'AWS::SQS::Queue');
    const resolvedRedrive = reader.resolve<Record<string, unknown> | string | undefined>(redrive);
    const redriveObject = typeof resolvedRedrive === 'string' ? (JSON.parse(resolvedRedrive) as Record<string, unknown>) : resolvedRedrive;
    const number = (value: unknown, fallback: number): number => (value === undefined ? fallback : Number(reader.resolve(value)));
    queues.set(id, {
      logicalId: id,
      queueName: reader.queueName(id),
      arn: reader.getAtt(id, 'Arn'),
      visibilityTimeoutSeconds: number(p.VisibilityTimeout, 30),
      retentionSeconds: number(p.MessageRetentionPeriod, 345_600),
      delaySeconds: number(p.DelaySeconds, 0),
      ...(dlq && redriveObject
        ? { redrive: { deadLetterQueueId: dlq, maxReceiveCount: Number(redriveObject.maxReceiveCount ?? 10) } }
        : {}),
    });
  }
  return queues;
}

function readQueueMappings(reader: TemplateReader, queues: Map<string, QueueModel>): QueueMappingModel[] {
  const mappings: QueueMappingModel[] = [];
  const add = (source: unknown, fn: unknown, p: Record<string, unknown>): void => {
    const queueId = referencedIds(source).find((id) => queues.has(id));
    const functionId = referencedIds(fn).find((id) => FUNCTION_TYPES.has(reader.resources[id]?.Type ?? ''));
    if (!queueId || !functionId) return;
    const types = reader.resolve<unknown[]>(p.FunctionResponseTypes ?? []);
    const scaling = reader.resolve<Record<string, unknown> | undefined>(p.ScalingConfig);
    mappings.push({
      queueId,
      functionId,
      batchSize: Number(reader.resolve(p.BatchSize ?? 10)),
      reportBatchItemFailures: types.includes('ReportBatchItemFailures'),
      enabled: String(reader.resolve(p.Enabled ?? true)) !== 'false',
      maximumConcurrency: scaling?.MaximumConcurrency === undefined ? undefined : Number(scaling.MaximumConcurrency),
    });
  };
  for (const [, resource] of reader.ofType('AWS::Lambda::EventSourceMapping')) {
    const p = resource.Properties ?? {};
    add(p.EventSourceArn, p.FunctionName, p);
  }
  for (const [id, resource] of reader.ofType('AWS::Serverless::Function')) {
    const events = resource.Properties?.Events;
    for (const event of Object.values(isRecord(events) ? events : {})) {
      if (isRecord(event) && event.Type === 'SQS' && isRecord(event.Properties)) add(event.Properties.Queue, { Ref: id }, event.Properties);
    }
  }
  return mappings;
}

/** The start of the Description (up to its first ":", ".", "(" or line end), else the API's Name, else the folder's name. */
function titleOf(reader: TemplateReader, apiLogicalId: string, dir: string): string {
  const description = reader.doc.Description;
  const start = typeof description === 'string' ? (description.trim().split(/[:.(\n]/)[0] ?? '').trim() : '';
  if (start !== '' && start.length <= 60) return start;
  const name = reader.resolve(reader.resources[apiLogicalId]?.Properties?.Name);
  return typeof name === 'string' && name !== '' ? name : basename(dir);
}

/** Reads and resolves a SAM template for the local runtime. */
export async function loadTemplate(path: string, options: TemplateOptions = {}): Promise<TemplateModel> {
  const absolute = resolve(path);
  const dir = dirname(absolute);
  const reader = new TemplateReader(absolute, await readTemplateFile(absolute), options);
  const api = readApi(reader);

  const functions = new Map<string, FunctionModel>();
  for (const route of api.routes.values()) {
    const resource = reader.resources[route.functionId] as Resource;
    if (!functions.has(route.functionId)) functions.set(route.functionId, readFunction(reader, dir, route.functionId, resource));
  }
  for (const [id, resource] of reader.ofType('AWS::Serverless::Function')) {
    if (functions.has(id)) continue;
    try {
      functions.set(id, readFunction(reader, dir, id, resource));
    } catch (e: unknown) {
      reader.warnings.push(`function ${id} cannot run locally: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  const layers = new Map<string, LayerModel>();
  for (const [id, resource] of [...reader.ofType('AWS::Serverless::LayerVersion'), ...reader.ofType('AWS::Lambda::LayerVersion')]) {
    const uri = reader.resolve(resource.Properties?.ContentUri ?? resource.Properties?.Content);
    if (typeof uri !== 'string') {
      reader.warnings.push(`layer ${id} has no local ContentUri: skipped`);
      continue;
    }
    const buildMethod = resource.Metadata?.BuildMethod;
    layers.set(id, {
      logicalId: id,
      contentUri: resolve(dir, uri),
      buildMethod: typeof buildMethod === 'string' ? buildMethod : undefined,
    });
  }

  const tables = new Map<string, TableModel>();
  for (const [id, resource] of reader.ofType('AWS::DynamoDB::Table')) tables.set(id, readTable(reader, id, resource));

  const queues = readQueues(reader);
  const queueMappings = readQueueMappings(reader, queues);
  for (const mapping of queueMappings) {
    const resource = reader.resources[mapping.functionId] as Resource;
    if (!functions.has(mapping.functionId)) functions.set(mapping.functionId, readFunction(reader, dir, mapping.functionId, resource));
  }

  const model: Omit<TemplateModel, 'roles'> = {
    path: absolute,
    title: titleOf(reader, api.apiLogicalId, dir),
    dir,
    ...api,
    functions,
    layers,
    tables,
    queues,
    queueMappings,
    userPools: readUserPools(reader),
    pseudo: reader.ctx.pseudo,
    warnings: reader.warnings,
    resources: reader.resources,
    resolve: (value) => reader.resolve(value),
  };
  return { ...model, roles: readRoles(model) };
}
