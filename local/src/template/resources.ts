/**
 * One reader per resource kind the local runtime runs: the WebSocket API (routes, stage,
 * throttling, authorizers), functions, tables, queues and their event source mappings, user
 * pools, and the app's title.
 */
import { basename, resolve } from 'node:path';
import type {
  AuthorizerModel,
  EsbuildProperties,
  FunctionModel,
  IndexModel,
  KeyElement,
  LayerModel,
  QueueMappingModel,
  QueueModel,
  RouteLimits,
  RouteModel,
  StageThrottling,
  TableModel,
  TemplateModel,
  UserPoolModel,
} from './model.js';
import { referencedIds } from './intrinsics.js';
import { FUNCTION_TYPES, isRecord, mergeGlobals, type Resource, type TemplateReader } from './reader.js';

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

export function readApi(
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

export function readUserPools(reader: TemplateReader): Map<string, UserPoolModel> {
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

export function readFunction(reader: TemplateReader, dir: string, id: string, resource: Resource): FunctionModel {
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
    tracing:
      String(reader.resolve(props.Tracing ?? (isRecord(props.TracingConfig) ? props.TracingConfig.Mode : undefined) ?? 'PassThrough')) ===
      'Active',
    memoryMb: Number(reader.resolve(props.MemorySize ?? 128)),
    environment: Object.fromEntries(Object.entries(env).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])),
    layers: layerIds,
    buildMethod: typeof metadata.BuildMethod === 'string' ? metadata.BuildMethod : undefined,
    buildProperties: reader.resolve<EsbuildProperties>(metadata.BuildProperties ?? {}),
    ...makeDirs(metadata, dir, resolve(dir, codeUri)),
  };
}

/** A makefile build's folders, as sam build finds them: Metadata ProjectRootDirectory and ContextPath, else the code's own. */
function makeDirs(metadata: Record<string, unknown>, dir: string, code: string): { projectRoot: string; contextPath: string } {
  const path = (value: unknown): string => (typeof value === 'string' ? resolve(dir, value) : code);
  return { projectRoot: path(metadata.ProjectRootDirectory), contextPath: path(metadata.ContextPath) };
}

/** The layers with local content (ContentUri, or Content as a path). */
export function readLayers(reader: TemplateReader, dir: string): Map<string, LayerModel> {
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
      ...makeDirs(resource.Metadata ?? {}, dir, resolve(dir, uri)),
    });
  }
  return layers;
}

export function readTable(reader: TemplateReader, id: string, resource: Resource): TableModel {
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

export function readQueues(reader: TemplateReader): Map<string, QueueModel> {
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

export function readQueueMappings(reader: TemplateReader, queues: Map<string, QueueModel>): QueueMappingModel[] {
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
export function titleOf(reader: TemplateReader, apiLogicalId: string, dir: string): string {
  const description = reader.doc.Description;
  const start = typeof description === 'string' ? (description.trim().split(/[:.(\n]/)[0] ?? '').trim() : '';
  if (start !== '' && start.length <= 60) return start;
  const name = reader.resolve(reader.resources[apiLogicalId]?.Properties?.Name);
  return typeof name === 'string' && name !== '' ? name : basename(dir);
}
