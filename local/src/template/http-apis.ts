/**
 * The HTTP APIs of a SAM template, as the functions' events of `Type: HttpApi` declare them: each
 * event is one route (Path and Method, `ANY` included; neither: the API's `$default` route) of the
 * AWS::Serverless::HttpApi its ApiId names (`!Ref`), or of SAM's implicit `ServerlessHttpApi`
 * (stage `$default`) when it names none. An API's StageName (default `$default`) and its Auth
 * (DefaultAuthorizer, EnableIamAuthorizer; Globals.HttpApi merged in, as SAM does) decide where
 * the route is served and who may call it; an event's Auth.Authorizer (`AWS_IAM`, `NONE`) wins.
 */
import type { HttpApiModel, HttpRouteModel } from './model.js';
import { referencedIds } from './intrinsics.js';
import { isRecord, mergeGlobals, type Resource, type TemplateReader } from './reader.js';

/** The logical id SAM gives the API of the HttpApi events that name no ApiId. */
export const IMPLICIT_HTTP_API = 'ServerlessHttpApi';

/** API Gateway's integration timeout for HTTP APIs, and its bounds (TimeoutInMillis). */
const DEFAULT_TIMEOUT_MS = 30_000;

/** The HttpApi events of a function resource, by name: [name, Properties]. */
export function httpApiEvents(resource: Resource): [string, Record<string, unknown>][] {
  const events = resource.Properties?.Events;
  const found: [string, Record<string, unknown>][] = [];
  for (const [name, event] of Object.entries(isRecord(events) ? events : {})) {
    if (isRecord(event) && event.Type === 'HttpApi') found.push([name, isRecord(event.Properties) ? event.Properties : {}]);
  }
  return found;
}

function readHttpApi(reader: TemplateReader, logicalId: string, resource: Resource | undefined): HttpApiModel {
  const globals = isRecord(reader.doc.Globals) && isRecord(reader.doc.Globals.HttpApi) ? reader.doc.Globals.HttpApi : {};
  const props = mergeGlobals(globals, resource?.Properties ?? {});
  const auth = reader.resolve<unknown>(props.Auth ?? {});
  const stageName = reader.resolve<unknown>(props.StageName);
  if (resource && (props.DefinitionBody !== undefined || props.DefinitionUri !== undefined)) {
    reader.warnings.push(
      `HTTP API ${logicalId}: its OpenAPI definition is not read locally; only the functions' HttpApi events are served`,
    );
  }
  const stage = resource && typeof stageName === 'string' && stageName !== '' ? stageName : '$default';
  return {
    logicalId,
    apiId: reader.apiId(logicalId),
    stage,
    implicit: resource === undefined,
    defaultAuthorizer: isRecord(auth) && typeof auth.DefaultAuthorizer === 'string' ? auth.DefaultAuthorizer : undefined,
    iamAuthorizer: isRecord(auth) && String(auth.EnableIamAuthorizer) === 'true',
  };
}

/** The route an event declares; its API, which the caller makes sure exists. */
function readRoute(
  reader: TemplateReader,
  functionId: string,
  eventName: string,
  props: Record<string, unknown>,
  api: HttpApiModel,
): HttpRouteModel {
  const where = `function ${functionId}, HttpApi event ${eventName}`;
  const path = reader.resolve<unknown>(props.Path ?? '$default');
  const method = String(reader.resolve<unknown>(props.Method ?? 'ANY')).toUpperCase();
  if (typeof path !== 'string' || (path !== '$default' && !path.startsWith('/'))) {
    throw new Error(`${where}: Path must start with "/", got ${JSON.stringify(path)}`);
  }
  if (/\{[^}]*\+\}./.test(path)) throw new Error(`${where}: a greedy path variable ({name+}) must end the Path, got ${path}`);
  const auth = isRecord(props.Auth) ? reader.resolve<Record<string, unknown>>(props.Auth) : {};
  const authorization = typeof auth.Authorizer === 'string' ? auth.Authorizer : (api.defaultAuthorizer ?? 'NONE');
  if (authorization === 'AWS_IAM' && !api.iamAuthorizer) {
    reader.warnings.push(
      `${where}: AWS_IAM needs Auth.EnableIamAuthorizer: true on ${api.logicalId} for SAM; IAM authorization is enforced locally anyway`,
    );
  } else if (authorization !== 'AWS_IAM' && authorization !== 'NONE') {
    reader.warnings.push(`${where}: authorizer ${authorization} is not played locally; the route refuses every request (401)`);
  }
  if (props.PayloadFormatVersion !== undefined && String(reader.resolve(props.PayloadFormatVersion)) !== '2.0') {
    reader.warnings.push(
      `${where}: payload format ${String(reader.resolve(props.PayloadFormatVersion))} is not played locally; the function gets format 2.0`,
    );
  }
  const timeout = props.TimeoutInMillis === undefined ? DEFAULT_TIMEOUT_MS : Number(reader.resolve(props.TimeoutInMillis));
  return {
    eventName,
    functionId,
    apiLogicalId: api.logicalId,
    routeKey: path === '$default' ? '$default' : `${method} ${path}`,
    method: path === '$default' ? 'ANY' : method,
    path,
    authorization,
    timeoutMs: Number.isFinite(timeout) && timeout > 0 ? Math.min(timeout, DEFAULT_TIMEOUT_MS) : DEFAULT_TIMEOUT_MS,
  };
}

/** The HTTP APIs the template's HttpApi events belong to, and their routes (in template order). */
export function readHttpApis(reader: TemplateReader): { httpApis: Map<string, HttpApiModel>; httpRoutes: HttpRouteModel[] } {
  const httpApis = new Map<string, HttpApiModel>();
  for (const [id, resource] of reader.ofType('AWS::Serverless::HttpApi')) httpApis.set(id, readHttpApi(reader, id, resource));
  const httpRoutes: HttpRouteModel[] = [];
  for (const [functionId, resource] of reader.ofType('AWS::Serverless::Function')) {
    for (const [eventName, props] of httpApiEvents(resource)) {
      let apiId = IMPLICIT_HTTP_API;
      if (props.ApiId !== undefined) {
        const named = referencedIds(props.ApiId).find((ref) => httpApis.has(ref));
        if (!named) {
          throw new Error(
            `function ${functionId}, HttpApi event ${eventName}: ApiId must be a !Ref to an AWS::Serverless::HttpApi of this template, got ${JSON.stringify(props.ApiId)}`,
          );
        }
        apiId = named;
      } else if (!httpApis.has(IMPLICIT_HTTP_API)) {
        httpApis.set(IMPLICIT_HTTP_API, readHttpApi(reader, IMPLICIT_HTTP_API, undefined));
      }
      httpRoutes.push(readRoute(reader, functionId, eventName, props, httpApis.get(apiId) as HttpApiModel));
    }
  }
  for (const id of [...httpApis.keys()]) {
    if (!httpRoutes.some((r) => r.apiLogicalId === id))
      reader.warnings.push(`HTTP API ${id} has no function's HttpApi event: nothing is served on it`);
  }
  return { httpApis, httpRoutes };
}
