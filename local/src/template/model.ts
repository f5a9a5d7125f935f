/**
 * The model of a SAM template the local runtime runs: what each reader (resources.ts) makes of
 * the resources, and what every service of the runtime reads from.
 */
import type { PseudoParameters } from './intrinsics.js';

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
  /** `Tracing: Active` (SAM; TracingConfig Mode on AWS::Lambda::Function): Lambda samples and traces its invocations. */
  tracing: boolean;
  /** Environment variables, intrinsic functions resolved (execute-api URLs still point at AWS). */
  environment: Record<string, string>;
  /** LoggingConfig's LogGroup, else Lambda's default /aws/lambda/<function name>. */
  logGroupName: string;
  /** Logical ids of the template's layers the function uses. */
  layers: string[];
  buildMethod: string | undefined;
  buildProperties: EsbuildProperties;
  /**
   * BuildMethod makefile: what `sam build` copies (Metadata ProjectRootDirectory, else CodeUri)
   * and where it runs `make build-<LogicalId>` (Metadata ContextPath, else CodeUri), absolute.
   */
  projectRoot: string;
  contextPath: string;
}

export interface LayerModel {
  logicalId: string;
  contentUri: string;
  buildMethod: string | undefined;
  /** As a function's (BuildMethod makefile): ProjectRootDirectory and ContextPath, else ContentUri. */
  projectRoot: string;
  contextPath: string;
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

/**
 * An HTTP API (AWS::Serverless::HttpApi, or SAM's implicit `ServerlessHttpApi` of the HttpApi
 * events that name no ApiId): its stage and its default authorization (http-apis.ts reads them).
 */
export interface HttpApiModel {
  logicalId: string;
  apiId: string;
  /** StageName, else `$default` (served at the root of the runtime's port). */
  stage: string;
  /** SAM made it: no resource of the template declares it. */
  implicit: boolean;
  /** Auth.DefaultAuthorizer (`AWS_IAM`, the name of another authorizer), else undefined (open). */
  defaultAuthorizer: string | undefined;
  /** Auth.EnableIamAuthorizer. */
  iamAuthorizer: boolean;
}

/** A function's event of `Type: HttpApi`: one route of an HTTP API, integrated with the function (payload format 2.0). */
export interface HttpRouteModel {
  /** The event's logical name under the function's Events (Publish). */
  eventName: string;
  functionId: string;
  apiLogicalId: string;
  /** `POST /messages`, `ANY /items/{proxy+}`, or `$default` (an event without Path and Method). */
  routeKey: string;
  /** Upper case; `ANY` for any method. */
  method: string;
  /** `/messages`, `/items/{id}`, `/files/{proxy+}`; `$default` for the default route. */
  path: string;
  /** `AWS_IAM`, `NONE`, or the name of an authorizer the runtime does not play (its requests are refused). */
  authorization: string;
  /** TimeoutInMillis: past it, API Gateway answers 503 (default 30 s). */
  timeoutMs: number;
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
  /** The HTTP APIs the functions' HttpApi events belong to, by logical id, and those routes. */
  httpApis: Map<string, HttpApiModel>;
  httpRoutes: HttpRouteModel[];
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

export interface Statement {
  Effect: 'Allow' | 'Deny';
  Action?: string[];
  NotAction?: string[];
  Resource?: string[];
  NotResource?: string[];
  Condition?: unknown;
  /** Where the statement comes from (e.g. "Policies[0].Statement[2]"). */
  source: string;
}

export interface FunctionRole {
  functionId: string;
  /** arn:aws:iam::<account>:role/<FunctionId>Role, as SAM names it. */
  roleArn: string;
  statements: Statement[];
  /** False when the role holds something the runtime cannot evaluate: calls are recorded, not denied. */
  enforceable: boolean;
  notes: string[];
}
