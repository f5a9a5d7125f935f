/**
 * Levers measured through the real handlers without changing them: only the environment or
 * the runtime's options differ, and every variant runs in the same rounds as the shipped one.
 *
 * Tracing: the runtime as shipped runs the template's `Tracing: Active` as Lambda does (a
 * sampled trace per invocation, Powertools Tracer and the X-Ray SDK loaded, the DynamoDB and
 * SQS clients captured, segments over UDP to the runtime's daemon), so the headline is what
 * people deploy; the untraced runtime (`Tracing: PassThrough`) is the lever. TRACED_AS_ON_AWS
 * is the same environment for a worker outside the runtime (the layer's broadcast() alone):
 * a fixed `_X_AMZN_TRACE_ID` and a daemon address on 127.0.0.1 where nobody listens.
 *
 * Sandboxes per function: the local runtime now starts one per core (DEFAULT_SANDBOXES);
 * the former default, 8, is measured beside it: each sandbox is a V8 isolate with its own
 * copy of the layer, JIT and heap.
 */
import type { RuntimeOptions } from '../harness/runtime';

export const TRACED_AS_ON_AWS: Record<string, string> = {
  AWS_SAM_LOCAL: '',
  POWERTOOLS_DEV: '',
  POWERTOOLS_TRACE_ENABLED: 'true',
  _X_AMZN_TRACE_ID: 'Root=1-674c1e00-0a1b2c3d4e5f60718293a4b5;Parent=53995c3f42cd8ad8;Sampled=1',
  AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000',
  AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
};

/** The lever of the shipped configuration's tracing: the runtime with tracing off, as `Tracing: PassThrough`. */
export const UNTRACED: RuntimeOptions = { tracing: false };
export const UNTRACED_LABEL = 'untraced (Tracing PassThrough, npm start --no-tracing)';

/** The former default of the local runtime's sandboxes per function. */
export const FORMER_SANDBOXES = 8;

export interface RuntimeVariant {
  label: string;
  options: RuntimeOptions;
}

/** The throughput variants beyond the shipped runtime that need a runtime of their own. */
export function leverVariants(): RuntimeVariant[] {
  return [
    { label: `${FORMER_SANDBOXES} sandboxes per function (the former default), untraced`, options: { maxConcurrency: FORMER_SANDBOXES } },
  ];
}
