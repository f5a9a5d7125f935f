/**
 * startLocalRuntime, as the steps it takes, each service built once what it needs exists:
 *
 * 1. the template, read once (template/): every service below reads its part of the model;
 * 2. the controls the services consult: local IAM, the faults, the stage's throttle, the doors;
 * 3. the foundations, started together: the HTTP port (front-door/: each request goes to the
 *    service registered for it, once every service is), the DynamoDB store behind its door, the
 *    functions' builds, the app's page, the template's token issuer;
 * 4. the services, in dependency order: the functions (Lambda), then what invokes them (the
 *    WebSocket API with its Management API, the HTTP APIs, the SQS queues and their event
 *    sources), each registered on the port;
 * 5. the handle the caller gets: URLs, invoke, statistics, IAM, faults, close.
 *
 * Whatever has started is stopped in reverse order by close(), or at once when a step fails.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { resolve } from 'node:path';
import { ConnectionJournal } from './apigateway/connection-journal.js';
import { DEFAULT_LIMITS, type Limits } from './apigateway/limits.js';
import { ManagementApi } from './apigateway/management-api.js';
import { StageThrottle } from './apigateway/throttle.js';
import { WebSocketGateway } from './apigateway/websocket-server.js';
import { managementDoor } from './apigateway/management-door.js';
import { stageHttp } from './apigateway/stage-http.js';
import { LocalTokenIssuer, tokenService } from './cognito/token-issuer.js';
import type { LocalRuntime, LocalRuntimeOptions } from './core/api.js';
import { createLog, type RuntimeLog } from './core/log.js';
import { ensureTables, startStore, startTtlSweeper, type LocalStore } from './dynamodb/store.js';
import { storeDoor } from './dynamodb/store-door.js';
import { Faults } from './faults/faults.js';
import { httpRouteInfos, httpRouteUrl, LocalHttpApis, refuseHttpClashes } from './httpapi/http-api.js';
import { AwsCalls } from './front-door/aws-calls.js';
import { Doors } from './front-door/doors.js';
import { closeServer, listen, reachable } from './front-door/port.js';
import { ServiceRegistry } from './front-door/registry.js';
import { LOCAL_CREDENTIALS, LocalIam } from './iam/iam.js';
import { buildAll, defaultBuildRoot, type BuildOutput } from './lambda/build.js';
import { DEFAULT_SANDBOXES, LocalFunctions } from './lambda/functions.js';
import { loadPage, pageService, type PageFile } from './page/page.js';
import { LocalSqs } from './sqs/sqs.js';
import { pollerAuthorization, sqsDoor } from './sqs/sqs-door.js';
import { loadTemplate, type TemplateModel } from './template/template.js';
import { startXrayDaemon, type XrayDaemon } from './xray/daemon.js';

export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const started = performance.now();
  const log = createLog(options.quiet ?? false);
  const model = await readTemplate(options, log);
  const controls = controlsOf(model, options, log);
  const running = new Running();
  try {
    const foundations = await startFoundations(model, controls, options, log, running);
    const services = await startServices(model, controls, foundations, options, log, running);
    return handleOf(model, controls, foundations, services, running, performance.now() - started);
  } catch (e: unknown) {
    await running.close().catch(() => undefined);
    throw e;
  }
}

/** What has started, stopped in reverse order. */
class Running {
  private readonly stops: (() => Promise<void> | void)[] = [];

  started(stop: () => Promise<void> | void): void {
    this.stops.push(stop);
  }

  async close(): Promise<void> {
    while (this.stops.length > 0) await (this.stops.pop() as () => Promise<void> | void)();
  }
}

async function readTemplate(options: LocalRuntimeOptions, log: RuntimeLog): Promise<TemplateModel> {
  const model = await loadTemplate(resolve(options.templatePath ?? 'template.yaml'), {
    parameterOverrides: options.parameterOverrides,
  });
  model.warnings.forEach((w) => log.warn(w));
  return model;
}

/** What the services consult on every request: who may do what, what fails on purpose, what the stage admits, who may come in. */
interface Controls {
  host: string;
  limits: Limits;
  iam: LocalIam;
  faults: Faults;
  throttle: StageThrottle;
  throttling: boolean;
  doors: Doors;
}

function controlsOf(model: TemplateModel, options: LocalRuntimeOptions, log: RuntimeLog): Controls {
  const host = options.host ?? '127.0.0.1';
  const iam = new LocalIam(model, options.iam ?? 'enforce');
  iam.warnings().forEach((w) => log.warn(w));
  const throttle = new StageThrottle(model.throttling);
  return {
    host,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    iam,
    faults: new Faults(options.faults ?? {}),
    throttle,
    throttling: (options.throttling ?? true) && throttle.active,
    doors: new Doors({ host, allowedHosts: options.allowedHosts, allowedOrigins: options.allowedOrigins }),
  };
}

interface Foundations {
  /** The services on the port, registered as they start. */
  registry: ServiceRegistry;
  /** Where the port's WebSocket upgrades go, once the WebSocket API has started. */
  upgrades: { gateway?: WebSocketGateway };
  /** SigV4 and IAM, as every AWS API's door applies them. */
  calls: AwsCalls;
  /** The app's page, built. */
  page: Map<string, PageFile>;
  /** The template's user pool's token issuer, if it has one. */
  issuer: LocalTokenIssuer | undefined;
  /** http://<host>:<port> */
  origin: string;
  port: number;
  store: LocalStore;
  build: BuildOutput;
  buildRoot: string;
  /** Where traced functions send their segments; undefined when nothing is traced (--no-tracing, or no function of Tracing Active). */
  xray: XrayDaemon | undefined;
}

async function startFoundations(
  model: TemplateModel,
  controls: Controls,
  options: LocalRuntimeOptions,
  log: RuntimeLog,
  running: Running,
): Promise<Foundations> {
  const { iam, faults, doors, host } = controls;
  const calls = new AwsCalls(iam, log);
  const registry = new ServiceRegistry(doors, log);
  const upgrades: Foundations['upgrades'] = {};
  const server = createServer(registry.listener);
  server.keepAliveTimeout = 65_000;
  server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
    if (upgrades.gateway) upgrades.gateway.handleUpgrade(req, socket, head);
    else socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  const buildRoot = options.buildDir ?? defaultBuildRoot(model.dir);
  // All settle before going on, so that a failure leaves nothing listening behind.
  const tracing = (options.tracing ?? true) && [...model.functions.values()].some((fn) => fn.tracing);
  const [listening, storing, building, paging, issuing, tracingTo] = await Promise.allSettled([
    listen(server, options.port ?? 3001, host),
    startStore({
      port: options.dynamodbPort ?? 8000,
      host: '127.0.0.1',
      dataDir: options.dataDir,
      intercept: storeDoor({ model, calls, faults, doors, log }),
    }),
    buildAll(model, buildRoot),
    loadPage(options.page, model.title, `/${model.stage}`),
    LocalTokenIssuer.forTemplate(model),
    tracing ? startXrayDaemon(log) : Promise.resolve(undefined),
  ]);
  if (tracingTo.status === 'fulfilled' && tracingTo.value) {
    const daemon = tracingTo.value;
    running.started(() => daemon.close());
  }
  if (storing.status === 'fulfilled') running.started(() => storing.value.close());
  running.started(() => closeServer(server));
  for (const step of [listening, storing, building, paging, issuing, tracingTo]) if (step.status === 'rejected') throw step.reason;
  const port = (listening as PromiseFulfilledResult<number>).value;
  const store = (storing as PromiseFulfilledResult<LocalStore>).value;
  const page = (paging as PromiseFulfilledResult<Awaited<ReturnType<typeof loadPage>>>).value;
  if (page.problem) log.warn(`page: ${page.problem}`);
  await ensureTables(store.client, model);
  const origin = `http://${reachable(host)}:${port}`;
  return {
    registry,
    upgrades,
    calls,
    page: page.files,
    issuer: (issuing as PromiseFulfilledResult<LocalTokenIssuer | undefined>).value,
    origin,
    port,
    store,
    build: (building as PromiseFulfilledResult<BuildOutput>).value,
    buildRoot,
    xray: (tracingTo as PromiseFulfilledResult<XrayDaemon | undefined>).value,
  };
}

interface StartedServices {
  functions: LocalFunctions;
}

async function startServices(
  model: TemplateModel,
  controls: Controls,
  foundations: Foundations,
  options: LocalRuntimeOptions,
  log: RuntimeLog,
  running: Running,
): Promise<StartedServices> {
  const { limits, faults, throttle, throttling, doors, iam } = controls;
  const { registry, upgrades, calls, page, issuer, origin, port, store, build, buildRoot, xray } = foundations;
  const maxConcurrency = options.maxConcurrency ?? DEFAULT_SANDBOXES;
  refuseHttpClashes(model, page, issuer);

  const functions = new LocalFunctions({
    model,
    build,
    wiring: {
      localOrigin: origin,
      dynamodbEndpoint: store.endpoint,
      envOverrides: options.env,
      envVars: options.envVars,
      buildRoot,
      ...(xray && { xrayDaemon: xray.address }),
    },
    pool: { maxConcurrency, output: options.quiet ? undefined : { stdout: process.stdout, stderr: process.stderr } },
    faults,
    log,
    watch: options.watch ?? false,
  });
  running.started(() => functions.close());
  const { invoke } = functions;

  const sqs = new LocalSqs({
    model,
    log,
    origin: () => origin,
    invoke,
    maxConcurrency,
    authorize: pollerAuthorization(model, calls),
  });
  running.started(() => sqs.close());

  // On disk, the connections are written down, and those a killed runtime left open are ended below.
  const { journal, orphans } = options.dataDir ? ConnectionJournal.load(options.dataDir) : { journal: undefined, orphans: [] };
  const gateway = new WebSocketGateway({
    model,
    limits,
    log,
    invoke,
    port: () => port,
    refusal: (req) => doors.refusal(req, true),
    journal,
    ...(throttling ? { admit: (routeKey: string) => throttle.admit(routeKey) } : {}),
  });
  running.started(() => gateway.shutdown());
  upgrades.gateway = gateway;
  const management = new ManagementApi({
    stage: model.stage,
    gateway,
    maxPayloadBytes: limits.messageBytes,
    maxBufferedBytes: limits.sendBufferBytes,
  });
  // In the order they are asked: the page last, it answers every other path (404 for a file it lacks).
  registry.register(
    tokenService(issuer, origin),
    sqsDoor(model, sqs, calls),
    managementDoor({ model, api: management, calls, faults, connection: (id) => gateway.open(id), maxPostBytes: limits.messageBytes }),
    stageHttp(gateway),
    new LocalHttpApis({ model, iam, log, invoke, port: () => port }),
    pageService(page),
  );
  registry.open();

  running.started(startTtlSweeper(store.client, model, limits.ttlSweepMs, log));
  if (options.prewarm ?? true) void functions.prewarm();
  await gateway.endOrphans(orphans);
  return { functions };
}

function handleOf(
  model: TemplateModel,
  controls: Controls,
  foundations: Foundations,
  services: StartedServices,
  running: Running,
  startupMs: number,
): LocalRuntime {
  const { iam, faults, throttle } = controls;
  const { origin, store, issuer, xray } = foundations;
  const { functions } = services;
  return {
    wsUrl: `${origin.replace(/^http/, 'ws')}/${model.stage}`,
    httpUrl: `${origin}/`,
    connectionsUrl: `${origin}/${model.stage}`,
    ...httpUrls(model, origin),
    dynamodbEndpoint: store.endpoint,
    credentials: { ...LOCAL_CREDENTIALS },
    stage: model.stage,
    tables: Object.fromEntries([...model.tables.values()].map((t) => [t.logicalId, t.tableName])),
    template: model,
    startupMs,
    invoke: functions.invoke,
    stats: () => functions.stats(),
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
    tracing: {
      daemon: xray?.address,
      traced: [...model.functions.values()].filter((fn) => fn.tracing && xray !== undefined).map((fn) => fn.logicalId),
      received: () => xray?.received() ?? { documents: 0, traces: [] },
    },
    issuer,
    close: () => running.close(),
  };
}

function httpUrls(model: TemplateModel, origin: string): Pick<LocalRuntime, 'httpApis' | 'httpRoutes' | 'httpRouteUrl'> {
  const httpRoutes = httpRouteInfos(model, origin);
  const httpApis = [...model.httpApis.values()].map(({ logicalId, apiId, stage }) => ({
    logicalId,
    apiId,
    stage,
    url: stage === '$default' ? origin : `${origin}/${stage}`,
  }));
  return { httpApis, httpRoutes, httpRouteUrl: (eventName) => httpRouteUrl(httpRoutes, eventName) };
}
