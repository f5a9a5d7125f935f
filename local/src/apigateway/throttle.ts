/**
 * The stage's route throttling, as API Gateway applies it: a token bucket per route, of
 * `ThrottlingBurstLimit` tokens refilled at `ThrottlingRateLimit` per second, from the stage's
 * `RouteSettings` for that route key or else its `DefaultRouteSettings` ("the default route
 * settings for the stage"; route settings override them per route). A request that finds its
 * bucket empty is refused: a connect with 429, a message with a `Too Many Requests` frame.
 * `$disconnect` is never throttled. A stage without throttling settings is not throttled (the
 * account-level limits, 10,000 requests per second, are not emulated).
 */
import { referencedIds } from '../template/intrinsics.js';
import type { TemplateModel } from '../template/template.js';

export interface RouteLimits {
  burst: number;
  rate: number;
}

export interface StageThrottling {
  defaults: RouteLimits | undefined;
  routes: Record<string, RouteLimits>;
}

/** API Gateway's account-level defaults, for a setting given without its partner. */
const ACCOUNT_BURST = 5000;
const ACCOUNT_RATE = 10000;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function limitsOf(settings: unknown): RouteLimits | undefined {
  if (!isRecord(settings)) return undefined;
  const { ThrottlingBurstLimit: burst, ThrottlingRateLimit: rate } = settings;
  if (burst === undefined && rate === undefined) return undefined;
  return { burst: burst === undefined ? ACCOUNT_BURST : Number(burst), rate: rate === undefined ? ACCOUNT_RATE : Number(rate) };
}

/** The throttling settings of the stage the runtime serves. */
export function readStageThrottling(model: TemplateModel): StageThrottling {
  const stage = Object.entries(model.resources).find(
    ([, r]) =>
      r.Type === 'AWS::ApiGatewayV2::Stage' &&
      referencedIds(r.Properties?.ApiId).includes(model.apiLogicalId) &&
      String(model.resolve(r.Properties?.StageName)) === model.stage,
  )?.[1];
  const props = (stage ? model.resolve(stage.Properties ?? {}) : {}) as Record<string, unknown>;
  const routes: Record<string, RouteLimits> = {};
  for (const [routeKey, settings] of Object.entries(isRecord(props.RouteSettings) ? props.RouteSettings : {})) {
    const limits = limitsOf(settings);
    if (limits) routes[routeKey] = limits;
  }
  return { defaults: limitsOf(props.DefaultRouteSettings), routes };
}

class TokenBucket {
  private tokens: number;
  private updated = performance.now();

  constructor(readonly limits: RouteLimits) {
    this.tokens = limits.burst;
  }

  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.limits.burst, this.tokens + ((now - this.updated) / 1000) * this.limits.rate);
    this.updated = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export class StageThrottle {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly counts: Record<string, { accepted: number; throttled: number }> = {};

  constructor(readonly settings: StageThrottling) {}

  /** True when the stage has throttling settings. */
  get active(): boolean {
    return this.settings.defaults !== undefined || Object.keys(this.settings.routes).length > 0;
  }

  /** Takes a token for one request on `routeKey`; false: refuse it with 429. */
  admit(routeKey: string): boolean {
    if (routeKey === '$disconnect') return true;
    const limits = this.settings.routes[routeKey] ?? this.settings.defaults;
    if (!limits) return true;
    let bucket = this.buckets.get(routeKey);
    if (!bucket) this.buckets.set(routeKey, (bucket = new TokenBucket(limits)));
    const ok = bucket.take();
    const count = (this.counts[routeKey] ??= { accepted: 0, throttled: 0 });
    if (ok) count.accepted += 1;
    else count.throttled += 1;
    return ok;
  }

  /** Requests accepted and throttled so far, per route key. */
  stats(): Record<string, { accepted: number; throttled: number }> {
    return structuredClone(this.counts);
  }
}
