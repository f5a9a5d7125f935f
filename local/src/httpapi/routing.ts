/**
 * Where the HTTP APIs' routes are served on the runtime's port, and which route a request takes.
 * A route of a stage named `backend` is at `/backend<Path>`; of the `$default` stage at `<Path>`
 * itself. Within a stage, as API Gateway selects: the path's most specific route (a literal
 * segment before `{name}`, `{name}` before a greedy `{proxy+}`), for the request's method before
 * `ANY`; else the API's `$default` route; else none (404). Paths are matched case-sensitively.
 */
import type { HttpApiModel, HttpRouteModel, TemplateModel } from '../template/template.js';

/** One route where the port serves it. */
export interface MountedRoute {
  route: HttpRouteModel;
  api: HttpApiModel;
  /** `/backend` for a named stage, '' for `$default`. */
  prefix: string;
  /** The route's path under the prefix, split (none for a `$default` route). */
  segments: Segment[];
}

type Segment = { literal: string } | { param: string } | { greedy: string };

export interface RouteMatch {
  mounted: MountedRoute;
  pathParameters: Record<string, string>;
}

const segmentsOf = (path: string): Segment[] =>
  path === '$default'
    ? []
    : path
        .slice(1)
        .split('/')
        .map((s): Segment => {
          const variable = /^\{([^}+]+)(\+?)\}$/.exec(s);
          if (!variable) return { literal: s };
          return variable[2] ? { greedy: variable[1] as string } : { param: variable[1] as string };
        });

/** 0 most specific: literal, then {name}, then {name+}. */
const rank = (s: Segment): number => ('literal' in s ? 0 : 'param' in s ? 1 : 2);

const decode = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** The path parameters when `parts` (a path's segments under the prefix) fit `segments`, else undefined. */
function fit(segments: Segment[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i += 1) {
    const segment = segments[i] as Segment;
    const part = parts[i];
    if ('greedy' in segment) {
      if (part === undefined || parts.slice(i).join('/') === '') return undefined;
      params[segment.greedy] = decode(parts.slice(i).join('/'));
      return params;
    }
    if (part === undefined) return undefined;
    if ('literal' in segment) {
      if (segment.literal !== part) return undefined;
    } else {
      if (part === '') return undefined;
      params[segment.param] = decode(part);
    }
  }
  return parts.length === segments.length ? params : undefined;
}

/** Negative when `a` is the more specific route: segment by segment, then the longer, then a method before ANY. */
function bySpecificity(a: MountedRoute, b: MountedRoute): number {
  for (let i = 0; i < Math.min(a.segments.length, b.segments.length); i += 1) {
    const order = rank(a.segments[i] as Segment) - rank(b.segments[i] as Segment);
    if (order !== 0) return order;
  }
  if (a.segments.length !== b.segments.length) return b.segments.length - a.segments.length;
  return Number(a.route.method === 'ANY') - Number(b.route.method === 'ANY');
}

export class HttpRouteTable {
  readonly mounted: MountedRoute[];

  constructor(model: TemplateModel) {
    this.mounted = model.httpRoutes.map((route) => {
      const api = model.httpApis.get(route.apiLogicalId) as HttpApiModel;
      return { route, api, prefix: api.stage === '$default' ? '' : `/${api.stage}`, segments: segmentsOf(route.path) };
    });
    const seen = new Map<string, MountedRoute>();
    for (const m of this.mounted) {
      const key = `${m.prefix} ${m.route.routeKey}`;
      const other = seen.get(key);
      if (other) {
        throw new Error(
          `two HTTP API routes are ${m.route.routeKey} at ${m.prefix || '/'}: ${describe(other)} and ${describe(m)}; give one another Path, Method or StageName`,
        );
      }
      seen.set(key, m);
    }
  }

  /** The path a route is served at on the port (`/backend/messages`; its prefix, or `/`, for a `$default` route). */
  static pathOf(m: MountedRoute): string {
    return m.route.path === '$default' ? m.prefix || '/' : `${m.prefix}${m.route.path}`;
  }

  /** The routes of the stage `pathname` is under (every `$default` stage's for a path no named stage has), restricted to one API if given. */
  private candidates(pathname: string, apiId?: string): { routes: MountedRoute[]; rest: string } | undefined {
    const ofApi = this.mounted.filter((m) => apiId === undefined || m.api.apiId === apiId);
    const named = ofApi.find((m) => m.prefix !== '' && (pathname === m.prefix || pathname.startsWith(`${m.prefix}/`)));
    const prefix = named?.prefix ?? '';
    const routes = ofApi.filter((m) => m.prefix === prefix);
    return routes.length === 0 ? undefined : { routes, rest: pathname.slice(prefix.length) };
  }

  /**
   * True when `pathname` is the HTTP APIs': under a named stage, or a path of a `$default`
   * stage's route. With `apiId` (a request addressed to `<apiId>.execute-api...`), any path of that API.
   */
  serves(pathname: string, apiId?: string): boolean {
    if (apiId !== undefined) return this.mounted.some((m) => m.api.apiId === apiId);
    const found = this.candidates(pathname);
    if (!found) return false;
    if (found.routes.some((m) => m.prefix !== '')) return true;
    const parts = found.rest.slice(1).split('/');
    return found.routes.some((m) => m.segments.length > 0 && fit(m.segments, parts) !== undefined);
  }

  /** The route a request takes, or undefined: no route of its stage has its path and method (404). */
  find(method: string, pathname: string, apiId?: string): RouteMatch | undefined {
    const found = this.candidates(pathname, apiId);
    if (!found) return undefined;
    const parts = found.rest === '' ? [] : found.rest.slice(1).split('/');
    const fitting = found.routes
      .filter((m) => m.segments.length > 0 && (m.route.method === 'ANY' || m.route.method === method.toUpperCase()))
      .map((mounted) => ({ mounted, pathParameters: fit(mounted.segments, parts) }))
      .filter((f): f is RouteMatch => f.pathParameters !== undefined)
      .sort((a, b) => bySpecificity(a.mounted, b.mounted));
    if (fitting[0]) return fitting[0];
    const fallback = found.routes.find((m) => m.route.routeKey === '$default');
    return fallback && { mounted: fallback, pathParameters: {} };
  }

  /**
   * Why a route and what the port serves already (the page, the WebSocket stage and its
   * @connections, the token issuer) would hide one another, or undefined. `taken(path)`: whether
   * the port serves that path already; `known`: the paths it serves, to try the routes on.
   */
  clash(taken: (path: string) => boolean, known: string[]): string | undefined {
    for (const m of this.mounted) {
      const hidden = hiddenBy(m, taken, known);
      if (hidden !== undefined) {
        return `the HTTP API route ${describe(m)} at ${HttpRouteTable.pathOf(m)} and ${hidden}, which the runtime serves already (the page, the WebSocket stage, @connections or the token issuer), would hide one another: give ${m.api.logicalId} a StageName of its own, or the route another Path`;
      }
    }
    return undefined;
  }
}

/** A path of the port's own that `m` overlaps: a named stage answers every path under it; a `$default` stage's route its path (or pattern). */
function hiddenBy(m: MountedRoute, taken: (path: string) => boolean, known: string[]): string | undefined {
  if (m.prefix !== '') return known.find((p) => p === m.prefix || p.startsWith(`${m.prefix}/`)) ?? (taken(m.prefix) ? m.prefix : undefined);
  if (m.route.path === '$default') return '/';
  const path = HttpRouteTable.pathOf(m);
  if (m.segments.every((s) => 'literal' in s)) return taken(path) ? path : undefined;
  return known.find((p) => fit(m.segments, p.slice(1).split('/')) !== undefined);
}

const describe = (m: MountedRoute): string =>
  `${m.route.routeKey} (${m.route.functionId}, event ${m.route.eventName}, API ${m.api.logicalId})`;
