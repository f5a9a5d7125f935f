/**
 * The local runtime: API Gateway's WebSocket API (and its Management API), Lambda, DynamoDB and
 * SQS as the template declares them, on 127.0.0.1, with no AWS account, Docker or Java.
 *
 *   const runtime = await startLocalRuntime({ port: 0, dynamodbPort: 0, quiet: true });
 *   const ws = new WebSocket(runtime.wsUrl);
 *   ...
 *   await runtime.close();
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { AwsFrontDoor } from './aws-gateway.js';
import { buildAll, defaultBuildRoot } from './lambda/build.js';
import { ConnectionJournal } from './apigateway/connection-journal.js';
import { loadPage, type PageBuilder } from './page.js';
import { Doors } from './doors.js';
import { Faults, type FaultOptions, type FaultStats } from './faults.js';
import { LOCAL_CREDENTIALS, LocalIam, type DeniedCall, type FunctionReport, type IamMode, type UsageEntry } from './iam/iam.js';
import { LocalFunctions, type FunctionStats } from './lambda/functions.js';
import type { InvokeOutcome } from './lambda/lambda-pool.js';
import { DEFAULT_LIMITS, type Limits } from './apigateway/limits.js';
import { createLog } from './log.js';
import { ManagementApi } from './apigateway/management-api.js';
import { LocalSqs } from './sqs/sqs.js';
import { ensureTables, startStore, startTtlSweeper, type LocalStore } from './dynamodb/store.js';
import { loadTemplate, type TemplateModel } from './template/template.js';
import { StageThrottle } from './apigateway/throttle.js';
import { LocalTokenIssuer } from './cognito/token-issuer.js';
import { requestHandler, type Services } from './router.js';
import { WebSocketGateway } from './apigateway/websocket-server.js';

export type { Limits } from './apigateway/limits.js';
export type { InvokeOutcome } from './lambda/lambda-pool.js';
export type { TemplateModel } from './template/template.js';
export type { FaultKindStats, FaultOptions, FaultStats } from './faults.js';
export type { DeniedCall, FunctionReport, IamMode, UsageEntry } from './iam/iam.js';
export type { IssuedToken, LocalTokenIssuer, TokenRequest } from './cognito/token-issuer.js';

/**
 * Sandboxes per function by default: one per core. Each is a worker thread with its own V8
 * isolate, its own copy of the layer, JIT and heap; more of them than cores only adds CPU per
 * invocation (docs/PERFORMANCE.md measured 8 against one per core) and cold starts.
 */
export const DEFAULT_SANDBOXES = availableParallelism();

export interface LocalRuntimeOptions {
  /** The SAM template (default: template.yaml in the current directory). */
  templatePath?: string;
  /** Port of the WebSocket API, the Management API and the page (default 3001; 0: any free port). */
  port?: number;
  /** The app's web page at / (page.ts): builds its files once at start. Default: a page that names the app and its WebSocket URL. */
  page?: PageBuilder;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** More host names every listener answers to, on any port (default: only its own addresses; local/src/doors.ts). */
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
  /** Faults to inject (local/src/faults.ts); none by default. runtime.faults.set() changes them later. */
  faults?: FaultOptions;
  /** Emulate the stage's route throttling (DefaultRouteSettings/RouteSettings) (default true). */
  throttling?: boolean;
}

export type { FunctionStats };

export interface LocalRuntime {
  /** ws://<host>:<port>/<stage> */
  wsUrl: string;
  /** http://<host>:<port>/ (the app's page) */
  httpUrl: string;
  /** http://<host>:<port>/<stage>: the Management API endpoint (CONNECTIONS_URL) */
  connectionsUrl: string;
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
  /** The token issuer of the template's Cognito user pool (local/src/cognito/token-issuer.ts); undefined when it has none. */
  issuer: LocalTokenIssuer | undefined;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'EADDRINUSE' ? new Error(`port ${port} is in use on ${host}: stop what uses it or set PORT`) : e);
    });
    server.listen(port, host, () => resolvePort((server.address() as AddressInfo).port));
  });
}

const closeServer = (server: Server): Promise<void> =>
  new Promise((done) => {
    server.closeAllConnections();
    server.close(() => done());
  });

export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const started = performance.now();
  const host = options.host ?? '127.0.0.1';
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const log = createLog(options.quiet ?? false);
  const model = await loadTemplate(resolve(options.templatePath ?? 'template.yaml'), {
    parameterOverrides: options.parameterOverrides,
  });
  model.warnings.forEach((w) => log.warn(w));
  const iam = new LocalIam(model, options.iam ?? 'enforce');
  iam.warnings().forEach((w) => log.warn(w));
  const faults = new Faults(options.faults ?? {});
  const throttle = new StageThrottle(model.throttling);
  const throttling = (options.throttling ?? true) && throttle.active;
  const buildRoot = options.buildDir ?? defaultBuildRoot(model.dir);

  const doors = new Doors({ host, allowedHosts: options.allowedHosts, allowedOrigins: options.allowedOrigins });
  const services: Services = {};
  services.aws = new AwsFrontDoor({
    model,
    iam,
    faults,
    log,
    doors,
    maxPostBytes: limits.messageBytes,
    connection: (id) => services.gateway?.open(id),
  });
  const server = createServer(requestHandler(services, doors, log));
  server.keepAliveTimeout = 65_000;
  server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
    if (services.gateway) services.gateway.handleUpgrade(req, socket, head);
    else socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });

  let store: LocalStore | undefined;
  let functions: LocalFunctions | undefined;
  let stopSweeper: () => Promise<void> = async () => undefined;
  const shutdown = async (): Promise<void> => {
    await services.gateway?.shutdown();
    services.sqs?.close();
    await stopSweeper();
    await functions?.close();
    await closeServer(server);
    await store?.close();
  };

  try {
    // All settle before going on, so that a failure leaves nothing listening behind.
    const [listening, storeStart, building, paging, issuing] = await Promise.allSettled([
      listen(server, options.port ?? 3001, host),
      startStore({
        port: options.dynamodbPort ?? 8000,
        host: '127.0.0.1',
        dataDir: options.dataDir,
        intercept: (listener) => (services.aws as AwsFrontDoor).wrapStore(listener),
      }),
      buildAll(model, buildRoot),
      loadPage(options.page, model.title, `/${model.stage}`),
      LocalTokenIssuer.forTemplate(model),
    ]);
    if (storeStart.status === 'fulfilled') store = storeStart.value;
    const failed = [listening, storeStart, building, paging, issuing].find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const port = (listening as PromiseFulfilledResult<number>).value;
    const build = (building as PromiseFulfilledResult<Awaited<ReturnType<typeof buildAll>>>).value;
    const page = (paging as PromiseFulfilledResult<Awaited<ReturnType<typeof loadPage>>>).value;
    const startedStore = (storeStart as PromiseFulfilledResult<LocalStore>).value;
    if (page.problem) log.warn(`page: ${page.problem}`);
    await ensureTables(startedStore.client, model);
    const origin = `http://${reachable(host)}:${port}`;
    const wiring = { localOrigin: origin, dynamodbEndpoint: startedStore.endpoint, envOverrides: options.env, buildRoot };
    const pool = {
      maxConcurrency: options.maxConcurrency ?? DEFAULT_SANDBOXES,
      output: options.quiet ? undefined : { stdout: process.stdout, stderr: process.stderr },
    };
    functions = new LocalFunctions({ model, build, wiring, pool, faults, log, watch: options.watch ?? false });
    const invoke = functions.invoke;
    // On disk, the connections are written down, and those a killed runtime left open are ended below.
    const { journal, orphans } = options.dataDir ? ConnectionJournal.load(options.dataDir) : { journal: undefined, orphans: [] };
    services.gateway = new WebSocketGateway({
      model,
      limits,
      log,
      invoke,
      port: () => port,
      refusal: (req) => doors.refusal(req, true),
      journal,
      ...(throttling ? { admit: (routeKey: string) => throttle.admit(routeKey) } : {}),
    });
    services.management = new ManagementApi({
      stage: model.stage,
      gateway: services.gateway,
      maxPayloadBytes: limits.messageBytes,
      maxBufferedBytes: limits.sendBufferBytes,
    });
    services.sqs = new LocalSqs({
      model,
      log,
      origin: () => origin,
      invoke,
      maxConcurrency: options.maxConcurrency ?? DEFAULT_SANDBOXES,
      authorize: (functionId, action, queueName) => (services.aws as AwsFrontDoor).poller(functionId, action, queueName),
    });
    services.page = page.files;
    services.issuer = (issuing as PromiseFulfilledResult<LocalTokenIssuer | undefined>).value;
    services.origin = origin;
    stopSweeper = startTtlSweeper(startedStore.client, model, limits.ttlSweepMs, log);
    if (options.prewarm ?? true) void functions.prewarm();
    await services.gateway.endOrphans(orphans);

    return {
      wsUrl: `${origin.replace(/^http/, 'ws')}/${model.stage}`,
      httpUrl: `${origin}/`,
      connectionsUrl: `${origin}/${model.stage}`,
      dynamodbEndpoint: startedStore.endpoint,
      credentials: { ...LOCAL_CREDENTIALS },
      stage: model.stage,
      tables: Object.fromEntries([...model.tables.values()].map((t) => [t.logicalId, t.tableName])),
      template: model,
      startupMs: performance.now() - started,
      invoke,
      stats: () => (functions as LocalFunctions).stats(),
      iam: {
        get mode() {
          return iam.mode;
        },
        usage: () => iam.usage(),
        denied: () => iam.denied(),
        report: () => iam.report(),
        reset: () => iam.reset(),
      },
      faults: {
        set: (next) => faults.set(next),
        current: () => faults.current,
        stats: () => faults.stats(),
        resetStats: () => faults.resetStats(),
      },
      throttling: () => throttle.stats(),
      issuer: services.issuer,
      close: shutdown,
    };
  } catch (e: unknown) {
    await shutdown().catch(() => undefined);
    throw e;
  }
}

/** The address to reach a server listening on `host` (a wildcard address is reached on loopback). */
function reachable(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
