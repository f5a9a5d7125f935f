/**
 * The template as resolved once: its parameters (with overrides, checked as CloudFormation
 * checks them), conditions, Globals, local ids shaped like AWS's, and intrinsic functions
 * resolved against them. The readers of resources.ts take their resources from here.
 */
import { createHash } from 'node:crypto';
import type { TemplateOptions, TemplateResource } from './model.js';
import { referencedIds, resolveValue, type PseudoParameters, type ResolveContext } from './intrinsics.js';
import { expandLanguageExtensions } from './language-extensions.js';

export type Resource = TemplateResource;

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const FUNCTION_TYPES = new Set(['AWS::Serverless::Function', 'AWS::Lambda::Function']);

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

export function mergeGlobals(globals: Record<string, unknown>, props: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...globals };
  for (const [key, value] of Object.entries(props)) {
    const base = out[key];
    if (Array.isArray(base) && Array.isArray(value)) out[key] = [...base, ...value];
    else if (isRecord(base) && isRecord(value)) out[key] = mergeGlobals(base, value);
    else out[key] = value;
  }
  return out;
}

export class TemplateReader {
  resources: Record<string, Resource>;
  readonly ctx: ResolveContext;
  readonly apiIds = new Map<string, string>();
  readonly warnings: string[] = [];

  /** The template as CloudFormation sees it after AWS::LanguageExtensions (its Fn::ForEach loops expanded). */
  readonly doc: Record<string, unknown>;

  constructor(
    readonly path: string,
    written: Record<string, unknown>,
    options: TemplateOptions,
  ) {
    const parameters = parameterValues(written.Parameters, options.parameterOverrides ?? {});
    const doc = expandLanguageExtensions(written, parameters);
    this.doc = doc;
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
      parameters,
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
    // SAM's implicit HTTP API exists when a function's HttpApi event names no ApiId.
    if (!resource) return id === 'ServerlessHttpApi' && this.hasImplicitHttpApi() ? this.apiId(id) : undefined;
    const { pseudo } = this.ctx;
    switch (resource.Type) {
      case 'AWS::DynamoDB::Table':
        return this.tableName(id);
      case 'AWS::Serverless::Function':
      case 'AWS::Lambda::Function':
        return this.functionName(id);
      case 'AWS::ApiGatewayV2::Api':
      case 'AWS::Serverless::HttpApi':
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
      case 'AWS::Serverless::HttpApi.ApiEndpoint':
        return `https://${this.apiId(id)}.execute-api.${region}.${urlSuffix}`;
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

  /** True when some function's HttpApi event names no ApiId: SAM then makes the API `ServerlessHttpApi`. */
  private hasImplicitHttpApi(): boolean {
    return this.ofType('AWS::Serverless::Function').some(([, r]) => {
      const events = r.Properties?.Events;
      return Object.values(isRecord(events) ? events : {}).some(
        (e) => isRecord(e) && e.Type === 'HttpApi' && !(isRecord(e.Properties) && e.Properties.ApiId !== undefined),
      );
    });
  }

  /** The first function resource a value refers to (an integration URI, a route target). */
  referencedFunction(value: unknown): string | undefined {
    return referencedIds(value).find((id) => FUNCTION_TYPES.has(this.resources[id]?.Type ?? ''));
  }
}
