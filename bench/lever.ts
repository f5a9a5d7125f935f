/**
 * Levers measured through the real handlers without changing them: only the environment or
 * the runtime's options differ, and every variant runs in the same rounds as the shipped one.
 *
 * The X-Ray SDK's promise hook: aws-xray-sdk-core (loaded by Powertools Tracer) creates its
 * cls-hooked namespace, an async_hooks hook with a destroy callback on every promise, when it
 * is imported in automatic mode, and again in its Lambda set-up whenever LAMBDA_TASK_ROOT is
 * set, traced or not. These variables keep it from doing either; tracing is off locally anyway
 * (AWS_SAM_LOCAL), so the handlers behave the same.
 *
 * Sandboxes per function: the local runtime starts up to 8 worker threads per function, each
 * its own V8 isolate with its own copy of the layer, JIT and heap; with fewer cores than
 * sandboxes that costs CPU per delivery. The variant gives it one sandbox per core.
 */
import { availableParallelism } from 'node:os';
import type { RuntimeOptions } from './runtime';
import type { ThroughputResult } from './throughput';

export const NO_XRAY_HOOK: Record<string, string> = { AWS_XRAY_MANUAL_MODE: 'true', LAMBDA_TASK_ROOT: '' };

export interface ThroughputVariant {
  label: string;
  result: ThroughputResult;
}

export interface RuntimeVariant {
  label: string;
  options: RuntimeOptions;
}

/** The throughput variants beyond the shipped runtime: hook off, one sandbox per core, both. */
export function leverVariants(): RuntimeVariant[] {
  const cores = availableParallelism();
  return [
    { label: '8 sandboxes per function, X-Ray hook off', options: { env: NO_XRAY_HOOK } },
    { label: `${cores} sandboxes per function (one per core), X-Ray hook on`, options: { maxConcurrency: cores } },
    { label: `${cores} sandboxes per function (one per core), X-Ray hook off`, options: { env: NO_XRAY_HOOK, maxConcurrency: cores } },
  ];
}
