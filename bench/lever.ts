/**
 * Levers measured through the real handlers without changing them: only the environment or
 * the runtime's options differ, and every variant runs in the same rounds as the shipped one.
 *
 * Tracing as on AWS (the template's `Tracing: Active`): locally chat-core does not load
 * Powertools Tracer (AWS_SAM_LOCAL), so the runtime as shipped measures the untraced
 * functions. This environment makes the sandboxes trace as a Lambda function does: the
 * Tracer and the X-Ray SDK loaded (its cls-hooked namespace: an async_hooks hook with a
 * callback on every promise), the DynamoDB and SQS clients captured, a handler subsegment per
 * invocation, all inside a sampled trace (a fixed `_X_AMZN_TRACE_ID`, which Lambda sets per
 * invocation) whose segments go over UDP to the daemon address on 127.0.0.1, where nobody
 * listens: what the SDK does on AWS, without the daemon.
 *
 * Sandboxes per function: the local runtime now starts one per core (DEFAULT_SANDBOXES);
 * the former default, 8, is measured beside it: each sandbox is a V8 isolate with its own
 * copy of the layer, JIT and heap.
 */
import type { RuntimeOptions } from './runtime';
import type { ThroughputResult } from './throughput';

export const TRACED_AS_ON_AWS: Record<string, string> = {
  AWS_SAM_LOCAL: '',
  POWERTOOLS_DEV: '',
  POWERTOOLS_TRACE_ENABLED: 'true',
  _X_AMZN_TRACE_ID: 'Root=1-674c1e00-0a1b2c3d4e5f60718293a4b5;Parent=53995c3f42cd8ad8;Sampled=1',
  AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000',
  AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
};

export const TRACED_LABEL = 'Tracing Active, as on AWS (X-Ray SDK loaded)';

/** The former default of the local runtime's sandboxes per function. */
export const FORMER_SANDBOXES = 8;

export interface ThroughputVariant {
  label: string;
  result: ThroughputResult;
}

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
