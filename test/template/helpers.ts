/**
 * Shared helpers of the template tests: where things are, how to run the SAM tools, and
 * what template.yaml declares. Every list of functions, routes and layers comes from the
 * template itself (never written down a second time here).
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expandLanguageExtensions } from '../../local/src/template/language-extensions';
import { parse, type CollectionTag, type ScalarTag, type YAMLMap, type YAMLSeq } from 'yaml';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const TEMPLATE_PATH = path.join(ROOT, 'template.yaml');
/** `sam build`'s default output directory, the one `sam deploy` and the README use. */
export const BUILD_DIR = path.join(ROOT, '.aws-sam', 'build');
/** What `npm run template:generate` writes. */
export const GENERATED_PATH = path.join(ROOT, 'dist', 'cloudformation.json');

/** Generous: a cold `sam build` of every function plus the layer. */
export const TOOL_TIMEOUT_MS = 300_000;
/** The parameters under which the functions that exist only under a condition (the authorizer) exist. */
export const CONDITIONAL_FUNCTION_PARAMETERS: Readonly<Record<string, string>> = { AuthMode: 'cognito' };

// ----------------------------------------------------------------------------- processes
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs a command to completion (never throws on a non-zero exit: the test asserts on it),
 * in this environment for the SAM tools, or in exactly `options.env`.
 */
export function run(
  command: string,
  args: string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd ?? ROOT,
        timeout: options.timeoutMs ?? TOOL_TIMEOUT_MS,
        maxBuffer: 64 * 1024 * 1024,
        env: options.env ?? { ...process.env, SAM_CLI_TELEMETRY: '0', AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION ?? 'us-east-1' },
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          // Not an exit status: the tool is missing (ENOENT) or timed out.
          const hint = error.code === 'ENOENT' ? ` (is ${command} installed and on PATH? .ci/run installs it)` : '';
          reject(new Error(`${command} ${args.join(' ')}: ${error.message}${hint}\n${stderr}`));
          return;
        }
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr, ms: Date.now() - started });
      },
    );
  });
}

/** A result's output for an assertion message. */
export function output(result: RunResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

// ----------------------------------------------------------------------------- CloudFormation YAML
/** An intrinsic function as CloudFormation's JSON form has it: `{ "Ref": ... }`, `{ "Fn::Sub": ... }`. */
export type Intrinsic = Record<string, unknown>;

const INTRINSICS = [
  'Ref',
  'Condition',
  'Base64',
  'Cidr',
  'And',
  'Equals',
  'If',
  'Not',
  'Or',
  'FindInMap',
  'GetAtt',
  'GetAZs',
  'ImportValue',
  'Join',
  'Select',
  'Split',
  'Sub',
  'Transform',
  'ToJsonString',
  'Length',
];

function intrinsicName(short: string): string {
  return short === 'Ref' || short === 'Condition' ? short : `Fn::${short}`;
}

/** `yaml` custom tags for CloudFormation's short forms, in scalar, sequence and mapping shape. */
export const CLOUDFORMATION_TAGS: Array<ScalarTag | CollectionTag> = INTRINSICS.flatMap((short) => {
  const name = intrinsicName(short);
  const scalar: ScalarTag = {
    tag: `!${short}`,
    resolve: (value: string) => ({ [name]: short === 'GetAtt' ? value.split(/\.(.*)/s, 2) : value }),
  };
  const collection = (kind: 'seq' | 'map'): CollectionTag => ({
    tag: `!${short}`,
    collection: kind,
    resolve: (value: YAMLMap.Parsed | YAMLSeq.Parsed) => ({ [name]: value.toJSON() }),
  });
  return [scalar, collection('seq'), collection('map')];
});

export interface Resource {
  Type: string;
  /** The condition under which the resource exists. */
  Condition?: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  DependsOn?: string | string[];
}

export interface Template {
  Transform?: string | string[];
  Globals?: { Function?: Record<string, unknown> };
  Parameters?: Record<string, Record<string, unknown>>;
  Conditions?: Record<string, unknown>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  Resources: Record<string, Resource>;
  Outputs?: Record<string, { Value: unknown; Description?: string; Condition?: string }>;
  Metadata?: Record<string, unknown>;
}

/** The template as written (its Fn::ForEach loops as they are). */
export function loadWrittenTemplate(file = TEMPLATE_PATH): Template {
  return parse(readFileSync(file, 'utf8'), { customTags: CLOUDFORMATION_TAGS, maxAliasCount: -1 }) as Template;
}

/** The template as CloudFormation transforms it first: AWS::LanguageExtensions' loops expanded (as the local runtime expands them). */
export function loadTemplate(file = TEMPLATE_PATH): Template {
  return expandLanguageExtensions(loadWrittenTemplate(file) as unknown as Record<string, unknown>) as unknown as Template;
}

export function loadGenerated(file = GENERATED_PATH): Template {
  return JSON.parse(readFileSync(file, 'utf8')) as Template;
}

/**
 * The CloudFormation template `sam deploy` would submit for `template` (as loadTemplate
 * reads it, perhaps changed by a test): scripts/generate-template.py, offline, on a copy.
 */
export async function transform(template: Template): Promise<Template> {
  const dir = mkdtempSync(path.join(tmpdir(), 'chat-template-'));
  const input = path.join(dir, 'template.json');
  const generated = path.join(dir, 'cloudformation.json');
  writeFileSync(input, JSON.stringify(template));
  const result = await run('python3', ['scripts/generate-template.py', '--template', input, '--output', generated]);
  if (result.code !== 0) throw new Error(`the SAM transform failed: ${output(result)}`);
  return loadGenerated(generated);
}

export function resourcesOfType(template: Template, type: string): Array<[string, Resource]> {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

/** The stages of the WebSocket API (the backend HTTP API has its own, which SAM makes). */
export function webSocketStages(template: Template): Array<[string, Resource]> {
  const websocket = new Set(
    resourcesOfType(template, 'AWS::ApiGatewayV2::Api')
      .filter(([, api]) => api.Properties?.ProtocolType === 'WEBSOCKET')
      .map(([id]) => id),
  );
  return resourcesOfType(template, 'AWS::ApiGatewayV2::Stage').filter(([, stage]) =>
    referencedIds(stage.Properties?.ApiId).some((id) => websocket.has(id)),
  );
}

/**
 * The routes of the HTTP APIs that SAM generates from HttpApi events (their OpenAPI body): each
 * route's method, path and the function its integration invokes.
 */
export function httpApiRoutes(cfn: Template): Array<{ apiId: string; method: string; path: string; functionId: string }> {
  const routes: Array<{ apiId: string; method: string; path: string; functionId: string }> = [];
  for (const [apiId, api] of resourcesOfType(cfn, 'AWS::ApiGatewayV2::Api')) {
    const paths = (api.Properties?.Body as { paths?: Record<string, Record<string, Record<string, unknown>>> } | undefined)?.paths ?? {};
    for (const [path, methods] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const integration = operation['x-amazon-apigateway-integration'] as { uri?: unknown } | undefined;
        for (const functionId of referencedIds(integration?.uri)) routes.push({ apiId, method: method.toUpperCase(), path, functionId });
      }
    }
  }
  return routes;
}

/** The logical ids an intrinsic refers to: `Ref X`, `GetAtt X.Y`, `Sub "...${X}...${X.Arn}..."`. */
export function referencedIds(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(referencedIds);
  if (value === null || typeof value !== 'object') return [];
  const object = value as Intrinsic;
  const ids: string[] = [];
  if (typeof object.Ref === 'string') ids.push(object.Ref);
  const getAtt = object['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') ids.push(getAtt[0]);
  if (typeof getAtt === 'string') ids.push(getAtt.split('.')[0] ?? '');
  const sub = object['Fn::Sub'];
  const subText = typeof sub === 'string' ? sub : Array.isArray(sub) && typeof sub[0] === 'string' ? sub[0] : undefined;
  if (subText !== undefined) {
    for (const match of subText.matchAll(/\$\{([^!][^}.]*)(?:\.[^}]*)?\}/g)) ids.push(match[1] ?? '');
  }
  for (const [key, inner] of Object.entries(object)) {
    if (key !== 'Ref' && key !== 'Fn::GetAtt' && key !== 'Fn::Sub') ids.push(...referencedIds(inner));
    if (key === 'Fn::Sub' && Array.isArray(inner)) ids.push(...referencedIds(inner[1]));
  }
  return ids.filter((id) => !id.startsWith('AWS::'));
}

/** The string of a `Fn::Sub` (short or long form), or undefined for anything else. */
export function subText(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const sub = (value as Intrinsic)['Fn::Sub'];
  if (typeof sub === 'string') return sub;
  if (Array.isArray(sub) && typeof sub[0] === 'string') return sub[0];
  return undefined;
}

// ----------------------------------------------------------------------------- the application, as declared
export interface FunctionInfo {
  logicalId: string;
  /** CodeUri without the trailing slash, e.g. `functions/connect`. */
  codeUri: string;
  properties: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

export interface LayerInfo {
  logicalId: string;
  /** ContentUri without the trailing slash, e.g. `layers/chat-core`. */
  contentUri: string;
  /** The package the layer's build puts in nodejs/node_modules (its package.json name). */
  packageName: string;
  metadata: Record<string, unknown>;
}

export interface RouteInfo {
  logicalId: string;
  routeKey: string;
  integrationId: string;
  /** The function the route's AWS_PROXY integration invokes. */
  functionId: string;
}

export interface AppInfo {
  template: Template;
  apiId: string;
  functions: FunctionInfo[];
  layers: LayerInfo[];
  routes: RouteInfo[];
  /**
   * The Lambda REQUEST authorizers (AuthMode cognito or oidc) and their functions. Such a
   * function serves no route; of the layer it loads only `<package>/identity` (see template.yaml).
   */
  authorizers: { logicalId: string; functionId: string }[];
}

/** A value, or the one a `Fn::FindInMap` of literal keys finds in the template's Mappings. */
export function fromMappings(template: Template, value: unknown): unknown {
  const args = (value as Intrinsic | null)?.['Fn::FindInMap'];
  if (!Array.isArray(args)) return value;
  const [map, top, second] = args as [string, string, string];
  const found = template.Mappings?.[map]?.[top]?.[second];
  if (found === undefined) throw new Error(`Fn::FindInMap: no ${map}.${top}.${second} in the template's Mappings`);
  return found;
}

function trimSlash(uri: unknown, owner: string): string {
  if (typeof uri !== 'string') throw new Error(`${owner}: expected a local path, got ${JSON.stringify(uri)}`);
  return uri.replace(/^\.\//, '').replace(/\/+$/, '');
}

export function describeApp(template = loadTemplate()): AppInfo {
  const apis = resourcesOfType(template, 'AWS::ApiGatewayV2::Api').filter(([, api]) => api.Properties?.ProtocolType === 'WEBSOCKET');
  if (apis.length !== 1) throw new Error(`expected one WebSocket API in template.yaml, found ${apis.length}`);
  const apiId = apis[0]![0];
  const globalCodeUri = template.Globals?.Function?.CodeUri;

  const functions = resourcesOfType(template, 'AWS::Serverless::Function').map(([logicalId, resource]) => ({
    logicalId,
    codeUri: trimSlash(resource.Properties?.CodeUri ?? globalCodeUri, logicalId),
    properties: resource.Properties ?? {},
    metadata: resource.Metadata ?? {},
  }));

  const layers = resourcesOfType(template, 'AWS::Serverless::LayerVersion').map(([logicalId, resource]) => {
    const contentUri = trimSlash(resource.Properties?.ContentUri, logicalId);
    const manifest = path.join(ROOT, contentUri, 'package.json');
    const packageName = existsSync(manifest)
      ? String((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name)
      : path.basename(contentUri);
    return { logicalId, contentUri, packageName, metadata: resource.Metadata ?? {} };
  });

  const routes = resourcesOfType(template, 'AWS::ApiGatewayV2::Route').map(([logicalId, resource]) => {
    const props = resource.Properties ?? {};
    const target = subText(props.Target) ?? '';
    const integrationId = /^integrations\/\$\{([^}]+)\}$/.exec(target)?.[1];
    if (!integrationId) throw new Error(`${logicalId}: Target ${JSON.stringify(props.Target)} is not integrations/\${Integration}`);
    const integration = template.Resources[integrationId];
    const uri = subText(integration?.Properties?.IntegrationUri) ?? '';
    const functionId = /\/functions\/\$\{([^}.]+)\.Arn\}\/invocations$/.exec(uri)?.[1];
    if (!functionId) throw new Error(`${integrationId}: IntegrationUri ${JSON.stringify(uri)} invokes no function of this template`);
    return { logicalId, routeKey: String(fromMappings(template, props.RouteKey)), integrationId, functionId };
  });

  const authorizers = resourcesOfType(template, 'AWS::ApiGatewayV2::Authorizer').map(([logicalId, resource]) => {
    const uri = subText(resource.Properties?.AuthorizerUri) ?? '';
    const functionId = /\/functions\/\$\{([^}.]+)\.Arn\}\/invocations$/.exec(uri)?.[1];
    if (!functionId) throw new Error(`${logicalId}: AuthorizerUri ${JSON.stringify(uri)} invokes no function of this template`);
    return { logicalId, functionId };
  });

  return { template, apiId, functions, layers, routes, authorizers };
}

/** The directory name a route's function lives in: `$connect` -> `connect`, `sendmessage` -> `sendmessage`. */
export function routeDirectory(routeKey: string): string {
  return routeKey.replace(/^\$/, '');
}

export function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/**
 * Loads one built function the way Lambda does, in a child Node.js outside the repository (so that
 * nothing resolves through the workspace's node_modules): its artifact as the task root, the
 * layers' artifacts on NODE_PATH as /opt/nodejs/node_modules, exactly `env` besides PATH and
 * NODE_PATH. Exit 0 when the module loaded (its init ran) and exports the handler.
 */
export async function loadBuiltFunction(options: {
  buildDir: string;
  layerIds: string[];
  functionId: string;
  handler: string;
  env: Record<string, string>;
}): Promise<{ code: number; stderr: string }> {
  const sandbox = mkdtempSync(path.join(tmpdir(), 'lambda-load-'));
  try {
    const opt = path.join(sandbox, 'opt');
    for (const layer of options.layerIds) cpSync(path.join(options.buildDir, layer), opt, { recursive: true });
    const task = path.join(sandbox, 'task');
    cpSync(path.join(options.buildDir, options.functionId), task, { recursive: true });
    const dot = options.handler.lastIndexOf('.');
    const [file, exported] = [options.handler.slice(0, dot), options.handler.slice(dot + 1)];
    const probe = `const m = require(${JSON.stringify(path.join(task, file))}); if (typeof m[${JSON.stringify(exported)}] !== "function") { console.error("no handler export ${exported}"); process.exit(3); }`;
    const env = { ...options.env, PATH: process.env.PATH ?? '', NODE_PATH: path.join(opt, 'nodejs', 'node_modules') };
    return await new Promise((resolve) => {
      execFile(process.execPath, ['-e', probe], { cwd: task, env, timeout: 30_000 }, (error, _stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }),
      );
    });
  } finally {
    rmSync(sandbox, { recursive: true, force: true });
  }
}
