/**
 * The environment a local function sees: the template's variables (execute-api URLs pointed at
 * the local runtime, which is that API's host here), the variables Lambda itself sets, and the
 * local wiring (DynamoDB endpoint, dummy credentials, Powertools dev mode).
 */
import { randomBytes } from 'node:crypto';
import { delimiter, join } from 'node:path';
import type { BuildOutput } from './build.js';
import { accessKeyIdFor, secretAccessKeyFor } from '../iam/iam.js';
import { envVarsFor, type EnvVarsFile } from './env-vars.js';
import { FunctionPool } from './lambda-pool.js';
import type { FunctionModel, TemplateModel } from '../template/template.js';

export interface LocalWiring {
  /** http://127.0.0.1:<port>: where execute-api URLs of the template's API lead locally. */
  localOrigin: string;
  dynamodbEndpoint: string;
  /** Extra variables for every function (they win over the template's). */
  envOverrides?: Record<string, string>;
  /** Values of the template's variables, as `sam local invoke --env-vars` takes them (env-vars.ts). */
  envVars?: EnvVarsFile;
  /** Where the build lives; a file under it that does not exist hides ~/.aws from the SDK. */
  buildRoot: string;
  /** Where functions of `Tracing: Active` send their segments (the X-Ray daemon's host:port); undefined: no tracing. */
  xrayDaemon?: string;
}

/** Whether the runtime traces this function's invocations, as Lambda does for `Tracing: Active`. */
export const traces = (fn: FunctionModel, wiring: LocalWiring): boolean => fn.tracing && wiring.xrayDaemon !== undefined;

/**
 * What Lambda sets for an actively traced function: the daemon's address (and its two halves),
 * and the context-missing strategy. AWS_SAM_LOCAL is not set for it: Powertools Tracer and the
 * X-Ray SDK switch tracing off under SAM CLI, and Lambda does not set it.
 */
function tracingEnvironment(daemon: string): Record<string, string> {
  const [host = '127.0.0.1', port = '2000'] = daemon.split(':');
  return {
    AWS_XRAY_DAEMON_ADDRESS: daemon,
    _AWS_XRAY_DAEMON_ADDRESS: host,
    _AWS_XRAY_DAEMON_PORT: port,
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
  };
}

/**
 * Rewrites the URLs of the services the local runtime plays to the local runtime:
 * https://<api>.execute-api.<region>.<suffix> (and wss://), SQS queue URLs, and the endpoints
 * of a user pool's issuer (https://cognito-idp.<region>.<suffix>/<poolId>/…, served by
 * local/src/cognito/token-issuer.ts). A bare issuer URL is an identifier (the `iss` of its tokens), not
 * an address: it stays as it is.
 */
export function localizeUrls(value: string, model: TemplateModel, localOrigin: string): string {
  const { region, urlSuffix } = model.pseudo;
  const escape = (s: string): string => s.replace(/\./g, '\\.');
  const api = escape(`${model.apiId}.execute-api.${region}.${urlSuffix}`);
  const sqs = escape(`sqs.${region}.${urlSuffix}`);
  const cognito = escape(`cognito-idp.${region}.${urlSuffix}`);
  return value
    .replace(new RegExp(`(https|wss)://(?:${api}|${sqs})`, 'g'), (_m, scheme: string) =>
      scheme === 'wss' ? localOrigin.replace(/^http/, 'ws') : localOrigin,
    )
    .replace(new RegExp(`https://${cognito}(?=/[^/\\s]+/)`, 'g'), `${localOrigin}/cognito-idp`);
}

export function lambdaEnvironment(
  fn: FunctionModel,
  model: TemplateModel,
  build: BuildOutput,
  wiring: LocalWiring,
): Record<string, string> {
  const built = build.functions.get(fn.logicalId);
  const layerPaths = fn.layers.flatMap((id) => {
    const dir = build.layers.get(id);
    return dir ? [join(dir, 'nodejs', 'node_modules')] : [];
  });
  const declared = { ...fn.environment, ...envVarsFor(wiring.envVars, fn) };
  const templateEnv = Object.fromEntries(Object.entries(declared).map(([k, v]) => [k, localizeUrls(v, model, wiring.localOrigin)]));
  const today = new Date().toISOString().slice(0, 10).replace(/-/g, '/');
  const noAwsConfig = join(wiring.buildRoot, 'no-aws-config');
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'en_US.UTF-8',
    ...templateEnv,
    // What Lambda sets (reserved: the template cannot change these).
    AWS_REGION: model.pseudo.region,
    AWS_DEFAULT_REGION: model.pseudo.region,
    AWS_LAMBDA_FUNCTION_NAME: fn.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_LOG_GROUP_NAME: fn.logGroupName,
    AWS_LAMBDA_LOG_STREAM_NAME: `${today}/[$LATEST]${randomBytes(16).toString('hex')}`,
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    AWS_NODEJS_CONNECTION_REUSE_ENABLED: '1',
    LAMBDA_TASK_ROOT: built?.taskRoot ?? fn.codeUri,
    _HANDLER: fn.handler,
    NODE_PATH: [...layerPaths, build.runtimeNodeModules].join(delimiter),
    // Local wiring. The credentials are the function's own: local/src/iam/iam.ts attributes its calls by them.
    AWS_ACCESS_KEY_ID: accessKeyIdFor(fn.logicalId),
    AWS_SECRET_ACCESS_KEY: secretAccessKeyFor(fn.logicalId),
    AWS_CONFIG_FILE: noAwsConfig,
    AWS_SHARED_CREDENTIALS_FILE: noAwsConfig,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_DYNAMODB: wiring.dynamodbEndpoint,
    AWS_ENDPOINT_URL_SQS: wiring.localOrigin,
    ...(traces(fn, wiring) ? tracingEnvironment(wiring.xrayDaemon as string) : { AWS_SAM_LOCAL: 'true' }),
    POWERTOOLS_DEV: 'true',
    ...wiring.envOverrides,
  };
}

export interface PoolOptions {
  maxConcurrency: number;
  output?: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };
}

/** One pool of sandboxes per built function. */
export function createFunctionPools(
  model: TemplateModel,
  build: BuildOutput,
  wiring: LocalWiring,
  options: PoolOptions,
): Map<string, FunctionPool> {
  const pools = new Map<string, FunctionPool>();
  for (const built of build.functions.values()) {
    const fn = model.functions.get(built.logicalId) as FunctionModel;
    const { partition, region, accountId } = model.pseudo;
    const env = lambdaEnvironment(fn, model, build, wiring);
    pools.set(
      fn.logicalId,
      new FunctionPool({
        functionName: fn.functionName,
        workerScript: build.workerScript,
        workerData: {
          handlerFile: built.handlerFile,
          exportName: built.exportName,
          functionName: fn.functionName,
          functionVersion: '$LATEST',
          invokedFunctionArn: `arn:${partition}:lambda:${region}:${accountId}:function:${fn.functionName}`,
          memoryLimitInMB: String(fn.memoryMb),
          logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME as string,
          logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME as string,
          localServices: { origin: wiring.localOrigin, dynamodb: wiring.dynamodbEndpoint },
        },
        env,
        traced: traces(fn, wiring),
        timeoutMs: fn.timeoutSeconds * 1000,
        memoryMb: fn.memoryMb,
        maxConcurrency: options.maxConcurrency,
        output: options.output,
      }),
    );
  }
  return pools;
}
