/** The local runtime's public types: what startLocalRuntime (runtime.ts) takes and gives. */
import type { PageBuilder } from '../page/page.js';
import type { FaultOptions, FaultStats } from '../faults/faults.js';
import type { DeniedCall, FunctionReport, IamMode, UsageEntry } from '../iam/iam.js';
import type { FunctionStats } from '../lambda/functions.js';
import type { InvokeOutcome } from '../lambda/lambda-pool.js';
import type { Limits } from '../apigateway/limits.js';
import type { TemplateModel } from '../template/template.js';
import type { LocalTokenIssuer } from '../cognito/token-issuer.js';
import type { EnvVarsFile } from '../lambda/env-vars.js';
import type { TraceSummary } from '../xray/daemon.js';
import type { HttpRouteInfo } from '../httpapi/http-api.js';

/** An HTTP API of the template, where the runtime serves it. */
export interface HttpApiInfo {
  logicalId: string;
  apiId: string;
  stage: string;
  /** http://<host>:<port>/<stage> (the port's root for `$default`): its routes' base URL. */
  url: string;
}

export interface LocalRuntimeOptions {
  /** The SAM template (default: template.yaml in the current directory). */
  templatePath?: string;
  /** Port of the WebSocket API, the Management API and the page (default 3001; 0: any free port). */
  port?: number;
  /** The app's web page at / (page.ts): builds its files once at start. Default: a page that names the app and its WebSocket URL. */
  page?: PageBuilder;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** More host names every listener answers to, on any port (default: only its own addresses; local/src/front-door/doors.ts). */
  allowedHosts?: string[];
  /** More page origins the WebSocket API accepts (default: only the runtime's own pages), e.g. http://localhost:5173. */
  allowedOrigins?: string[];
  /** Port of the embedded DynamoDB (default 8000; 0: any free port). */
  dynamodbPort?: number;
  /** Keep the DynamoDB data in this directory (default: in memory). */
  dataDir?: string;
  /** API Gateway's limits and the runtime's timings, for tests. */
  limits?: Partial<Limits>;
  /** No output at all: no invocation lines, no function logs. */
  quiet?: boolean;
  /** Template parameter values, as `sam deploy --parameter-overrides`. */
  parameterOverrides?: Record<string, string>;
  /** Extra environment variables for every function (win over the template's). */
  env?: Record<string, string>;
  /**
   * Values for the template's function variables, as `sam local invoke --env-vars` takes them:
   * `{"Parameters": {...}}` for every function, `{"<FunctionLogicalId>": {...}}` for one; only
   * variables a function declares are replaced.
   */
  envVars?: EnvVarsFile;
  /** Most sandboxes (concurrent invocations) per function (default DEFAULT_SANDBOXES: one per core). */
  maxConcurrency?: number;
  /** Start one sandbox per function ahead of the first request (default true). */
  prewarm?: boolean;
  /** Where builds go (default: a directory under the OS temporary directory). */
  buildDir?: string;
  /** Rebuild and reload functions when their sources (or their layers') change (default false). */
  watch?: boolean;
  /**
   * Local IAM (local/src/iam/iam.ts): 'enforce' (default) denies what a function's policies do not
   * allow, as AWS does; 'audit' only records it; 'off' does neither.
   */
  iam?: IamMode;
  /** Faults to inject (local/src/faults/faults.ts); none by default. runtime.faults.set() changes them later. */
  faults?: FaultOptions;
  /** Emulate the stage's route throttling (DefaultRouteSettings/RouteSettings) (default true). */
  throttling?: boolean;
  /**
   * Trace the functions of `Tracing: Active` as Lambda does (default true): a sampled trace per
   * invocation, segments to an X-Ray daemon of the runtime's own (local/src/xray/daemon.ts), or to
   * the one AWS_XRAY_DAEMON_ADDRESS names.
   */
  tracing?: boolean;
}

export interface LocalRuntime {
  /** ws://<host>:<port>/<stage> */
  wsUrl: string;
  /** http://<host>:<port>/ (the app's page) */
  httpUrl: string;
  /** http://<host>:<port>/<stage>: the Management API endpoint (CONNECTIONS_URL) */
  connectionsUrl: string;
  /** The template's HTTP APIs (AWS::Serverless::HttpApi, SAM's implicit ServerlessHttpApi), each with its base URL. */
  httpApis: HttpApiInfo[];
  /** Every route of the functions' HttpApi events, with its URL (http://<host>:<port>/<stage><path>). */
  httpRoutes: HttpRouteInfo[];
  /** The URL of the route an HttpApi event declares, by the event's name (or FunctionId.EventName); throws for an unknown one. */
  httpRouteUrl(eventName: string): string;
  /** http://127.0.0.1:<port> of the DynamoDB store */
  dynamodbEndpoint: string;
  stage: string;
  /** What tools sign their calls to the store, SQS and @connections with (AWS_ACCESS_KEY_ID=local, AWS_SECRET_ACCESS_KEY=local). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Table logical id → local table name. */
  tables: Record<string, string>;
  template: TemplateModel;
  /** Milliseconds from the call to ready. */
  startupMs: number;
  /** Runs one function on one event (what `npm run invoke` does). */
  invoke(functionId: string, event: unknown): Promise<InvokeOutcome>;
  /** Invocations so far, per function logical id (every route, queue and invoke() call). */
  stats(): Record<string, FunctionStats>;
  /** The AWS calls the functions made, as IAM sees them. */
  iam: {
    mode: IamMode;
    /** Every (function, action, resource) called, with counts. */
    usage(): UsageEntry[];
    /** Calls the functions' policies did not allow. */
    denied(): DeniedCall[];
    /** Per function: its grants (each with the calls it allowed), its calls and its denials. */
    report(): FunctionReport[];
    reset(): void;
  };
  /** The faults injected (see LocalRuntimeOptions.faults). */
  faults: {
    set(options: FaultOptions): void;
    current(): FaultOptions;
    stats(): FaultStats;
    resetStats(): void;
  };
  /** Requests accepted and throttled by the stage, per route key. */
  throttling(): Record<string, { accepted: number; throttled: number }>;
  /** X-Ray: where traced functions send their segments, which functions are traced, what the runtime's daemon received. */
  tracing: {
    daemon: string | undefined;
    traced: string[];
    received(): { documents: number; traces: TraceSummary[] };
  };
  /** The token issuer of the template's Cognito user pool (local/src/cognito/token-issuer.ts); undefined when it has none. */
  issuer: LocalTokenIssuer | undefined;
  close(): Promise<void>;
}
