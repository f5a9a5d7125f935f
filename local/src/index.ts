/**
 * The local runtime: API Gateway's WebSocket API (and its Management API) and HTTP APIs, Lambda,
 * DynamoDB and SQS as the template declares them, on 127.0.0.1, with no AWS account, Docker or Java.
 *
 *   const runtime = await startLocalRuntime({ port: 0, dynamodbPort: 0, quiet: true });
 *   const ws = new WebSocket(runtime.wsUrl);
 *   const publish = runtime.httpRouteUrl('Publish'); // an HttpApi event's route; sign with localSigner()
 *   ...
 *   await runtime.close();
 */
export { startLocalRuntime } from './runtime.js';
export { DEFAULT_SANDBOXES } from './lambda/functions.js';
/** A template's YAML (or JSON) as plain values, short-form tags in their long form (`!Ref X` → `{ Ref: 'X' }`). */
export { readTemplateFile, parseTemplateText } from './template/template-yaml.js';
export { expandLanguageExtensions } from './template/language-extensions.js';
export type { Limits } from './apigateway/limits.js';
export type { InvokeOutcome } from './lambda/lambda-pool.js';
export type { TemplateModel } from './template/template.js';
export type { EnvVarsFile } from './lambda/env-vars.js';
export type { TraceSummary, TracedCall } from './xray/daemon.js';
export type { FaultKindStats, FaultOptions, FaultStats } from './faults/faults.js';
export type { DeniedCall, FunctionReport, IamMode, UsageEntry } from './iam/iam.js';
export type { IssuedToken, LocalTokenIssuer, TokenRequest } from './cognito/token-issuer.js';
export type { HttpRouteInfo } from './httpapi/http-api.js';
export type { HttpApiEvent, IamIdentity } from './httpapi/events.js';
export type { HttpApiModel, HttpRouteModel } from './template/template.js';
/** LOCAL_CREDENTIALS (`local`/`local`) and a SigV4 signer like the SDK's, to sign calls to the runtime by hand (an AWS_IAM HTTP route, @connections). */
export { LOCAL_CREDENTIALS } from './iam/iam.js';
export { localSigner } from './iam/sigv4.js';
/** For a tool between a function and the runtime that signs again what it changes (the benchmark's accounting proxy): a function's secret from its access key id. */
export { accessKeyIdOf, secretForAccessKey } from './iam/iam.js';
/** The template as the runtime reads it, and the functions built as it builds them (the benchmark measures those bundles). */
export { loadTemplate } from './template/template.js';
export { buildAll } from './lambda/build.js';
export type { FunctionModel } from './template/template.js';
export type { HttpApiInfo, LocalRuntime, LocalRuntimeOptions } from './core/api.js';
export type { FunctionStats } from './lambda/functions.js';
