/**
 * The stage's route throttling, as API Gateway applies it: a token bucket per route, of
 * `ThrottlingBurstLimit` tokens refilled at `ThrottlingRateLimit` per second, from the stage's
 * `RouteSettings` for that route key or else its `DefaultRouteSettings` ("the default route
 * settings for the stage"; route settings override them per route). A request that finds its
 * bucket empty is refused: a connect with 429, a message with a `Too Many Requests` frame.
 * `$disconnect` is never throttled. A stage without throttling settings is not throttled (the
 * account-level limits, 10,000 requests per second, are not emulated).
 */
import type { RouteLimits, StageThrottling } from '../template/template.js';

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
