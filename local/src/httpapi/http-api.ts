/**
 * The template's HTTP APIs on the runtime's port (routing.ts says where): each request is routed
 * (404 `{"message":"Not Found"}` when no route of its stage takes it), its body read (up to
 * API Gateway's 10 MB), an AWS_IAM route's signature verified (iam-authorizer.ts; a refused
 * request never reaches the function), then the function invoked with a payload format 2.0 event
 * (events.ts) and its result answered as API Gateway answers it (results.ts), one log line per
 * invocation as for the WebSocket routes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpService } from '../front-door/registry.js';
import { gatewayId } from '../apigateway/events.js';
import { TOKEN_PATH } from '../cognito/token-issuer.js';
import { readBody } from '../core/http.js';
import type { LocalIam } from '../iam/iam.js';
import type { InvokeOutcome } from '../lambda/lambda-pool.js';
import type { RuntimeLog } from '../core/log.js';
import type { HttpRouteModel, TemplateModel } from '../template/template.js';
import { httpApiEvent, type HttpApiEvent, type IamIdentity } from './events.js';
import { IamAuthorizer } from './iam-authorizer.js';
import { gatewayAnswer, INTERNAL_ERROR, NOT_FOUND, resultAnswer, sendAnswer, UNAVAILABLE, type HttpAnswer } from './results.js';
import { HttpRouteTable, type RouteMatch } from './routing.js';

export interface HttpApisOptions {
  model: TemplateModel;
  iam: LocalIam;
  log: RuntimeLog;
  invoke(functionId: string, event: HttpApiEvent): Promise<InvokeOutcome>;
  /** The port the runtime listens on (X-Forwarded-Port). */
  port(): number;
}

/** One route, where the runtime serves it. */
export interface HttpRouteInfo {
  /** The function's event that declares it (its logical name under Events). */
  eventName: string;
  functionId: string;
  /** The HTTP API's logical id (`ServerlessHttpApi` for SAM's implicit one). */
  api: string;
  stage: string;
  /** `POST /messages`, `ANY /items/{id}`, `$default`. */
  routeKey: string;
  method: string;
  path: string;
  /** `AWS_IAM`, `NONE`, or an authorizer the runtime does not play (refused). */
  authorization: string;
  /** http://<host>:<port>/<stage><path> (`{name}` variables left in). */
  url: string;
}

/** API Gateway's largest HTTP API request payload. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;
const EXECUTE_API_HOST = /^([a-z0-9]+)\.execute-api\./i;

/** Each route with its local URL (`origin`: http://<host>:<port>). */
export function httpRouteInfos(model: TemplateModel, origin: string): HttpRouteInfo[] {
  const table = new HttpRouteTable(model);
  return table.mounted.map((m) => ({
    eventName: m.route.eventName,
    functionId: m.route.functionId,
    api: m.api.logicalId,
    stage: m.api.stage,
    routeKey: m.route.routeKey,
    method: m.route.method,
    path: m.route.path,
    authorization: m.route.authorization,
    url: `${origin}${HttpRouteTable.pathOf(m)}`,
  }));
}

/** The URL of the route an event declares: by its name, or `FunctionId.EventName` where functions share event names. */
export function httpRouteUrl(routes: HttpRouteInfo[], name: string): string {
  const found = routes.filter((r) => r.eventName === name || `${r.functionId}.${r.eventName}` === name);
  if (found.length === 1) return (found[0] as HttpRouteInfo).url;
  const names = routes.map((r) => `${r.functionId}.${r.eventName}`).join(', ') || 'none';
  throw new Error(
    found.length === 0
      ? `no HttpApi event is named ${name} (the template has ${names})`
      : `several functions have an HttpApi event ${name}: name it FunctionId.${name}`,
  );
}

/**
 * Refuses to start (throws) when a route and what the port serves already would hide one
 * another: the page's files, the WebSocket stage and its @connections, the token issuer's paths.
 */
export function refuseHttpClashes(model: TemplateModel, page: Map<string, unknown>, issuer?: { matches(path: string): boolean }): void {
  const stage = `/${model.stage}`;
  const taken = (p: string): boolean =>
    issuer?.matches(p) === true ||
    p === TOKEN_PATH ||
    p === stage ||
    p === `${stage}/` ||
    p.startsWith(`${stage}/@connections`) ||
    page.has(p);
  const known = [...page.keys(), stage, `${stage}/@connections/{connectionId}`, TOKEN_PATH, '/.well-known/jwks.json'];
  const clash = new HttpRouteTable(model).clash(taken, known);
  if (clash) throw new Error(`${model.path}: ${clash}`);
}

export class LocalHttpApis implements HttpService {
  readonly name = 'http-api';
  readonly table: HttpRouteTable;
  private readonly authorizer: IamAuthorizer;

  constructor(private readonly options: HttpApisOptions) {
    this.table = new HttpRouteTable(options.model);
    this.authorizer = new IamAuthorizer(options.model, options.iam, (message) => options.log.warn(message));
  }

  /** The HTTP API a request addressed to `<apiId>.execute-api.<region>.amazonaws.com` (a function's SDK call) names, if it is one. */
  private apiIdOf(req: IncomingMessage): string | undefined {
    const id = EXECUTE_API_HOST.exec(req.headers.host ?? '')?.[1]?.toLowerCase();
    return id !== undefined && this.table.mounted.some((m) => m.api.apiId === id) ? id : undefined;
  }

  /** True for the requests the HTTP APIs answer (routing.ts). */
  matches(req: IncomingMessage, pathname: string): boolean {
    return this.table.serves(pathname, this.apiIdOf(req));
  }

  async handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    const requestId = gatewayId();
    const method = String(req.method ?? 'GET').toUpperCase();
    const head = method === 'HEAD';
    const match = this.table.find(method, pathname, this.apiIdOf(req));
    if (!match) {
      req.resume();
      this.options.log.info(`${method} ${pathname}: 404 Not Found (no route of its HTTP API takes it)`);
      return void sendAnswer(res, NOT_FOUND(), requestId, head);
    }
    const { route } = match.mounted;
    const body = await readBody(req, MAX_PAYLOAD_BYTES);
    if (body === undefined) return void sendAnswer(res, gatewayAnswer(413, 'Request Entity Too Large'), requestId, head);
    const caller = await this.authorize(req, body, method, pathname, match);
    if (caller && 'refusal' in caller) {
      this.options.log.info(`${route.routeKey}: refused ${caller.refusal.status} (${caller.reason}); ${route.functionId} not invoked`);
      return void sendAnswer(res, caller.refusal, requestId, head);
    }
    const { api } = match.mounted;
    const event = httpApiEvent(req, body, {
      routeKey: route.routeKey,
      stage: api.stage,
      apiId: api.apiId,
      accountId: this.options.model.pseudo.accountId,
      requestId,
      pathParameters: match.pathParameters,
      port: this.options.port(),
      ...(caller && { iam: caller.identity }),
    });
    const answer = await this.integrate(route, event, (early) => sendAnswer(res, early, requestId, head));
    sendAnswer(res, answer, requestId, head);
  }

  /** The caller of an AWS_IAM route, its refusal, or undefined for an open route. */
  private async authorize(
    req: IncomingMessage,
    body: Buffer,
    method: string,
    pathname: string,
    { mounted: { route, api, prefix } }: RouteMatch,
  ): Promise<{ identity: IamIdentity } | { refusal: HttpAnswer; reason: string } | undefined> {
    if (route.authorization === 'NONE') return undefined;
    if (route.authorization !== 'AWS_IAM') {
      return { refusal: gatewayAnswer(401, 'Unauthorized'), reason: `authorizer ${route.authorization} is not played locally` };
    }
    const resource = this.authorizer.routeArn(api.apiId, api.stage, method, pathname.slice(prefix.length));
    return this.authorizer.authorize(req, body, resource);
  }

  /**
   * The function's answer; past the route's timeout, 503 at once (`early`), the invocation still
   * running to its end, as API Gateway gives up on a Lambda integration.
   */
  private async integrate(route: HttpRouteModel, event: HttpApiEvent, early: (answer: HttpAnswer) => void): Promise<HttpAnswer> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      early(UNAVAILABLE());
    }, route.timeoutMs);
    const outcome = await this.options.invoke(route.functionId, event);
    clearTimeout(timer);
    const answer = timedOut ? UNAVAILABLE() : outcome.error ? INTERNAL_ERROR() : resultAnswer(outcome.payload);
    const status = timedOut ? `503 (past ${route.timeoutMs} ms)` : String(answer.status);
    this.options.log.invocation({ route: route.routeKey, functionId: route.functionId, outcome, status });
    return answer;
  }
}
