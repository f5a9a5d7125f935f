import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { Context } from 'aws-lambda';

/**
 * One Logger, Tracer and Metrics per function instance, configured by the
 * POWERTOOLS_* variables of the template's Globals (service name, namespace, level).
 */
export const logger = new Logger();
export const metrics = new Metrics();

export { MetricUnit };

/** What the chat uses of Powertools Tracer. */
export type ChatTracer = Pick<Tracer, 'getSegment' | 'setSegment' | 'annotateColdStart' | 'putAnnotation' | 'captureAWSv3Client'>;

/**
 * Whether this function instance records X-Ray traces: on Lambda (AWS_LAMBDA_FUNCTION_NAME),
 * unless POWERTOOLS_TRACE_ENABLED is "false" (the template's `Tracing` parameter at PassThrough)
 * or it runs under SAM CLI (AWS_SAM_LOCAL), where there is no daemon. The local runtime runs a
 * function of `Tracing: Active` as Lambda does (no AWS_SAM_LOCAL, a daemon of its own): traced.
 */
export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.AWS_LAMBDA_FUNCTION_NAME) && !env.AWS_SAM_LOCAL && env.POWERTOOLS_TRACE_ENABLED?.toLowerCase() !== 'false';
}

/** The tracer of an instance that does not trace: it records nothing and costs nothing. */
export const untraced: ChatTracer = {
  getSegment: () => undefined,
  setSegment: () => undefined,
  annotateColdStart: () => undefined,
  putAnnotation: () => undefined,
  captureAWSv3Client: (client) => client,
};

/**
 * Powertools Tracer, loaded only when this instance traces: the X-Ray SDK is the larger part of
 * the layer's cold init. (Its context store is xray-context.ts, on AsyncLocalStorage, which the
 * layer's build puts in place of cls-hooked's async_hooks hook on every promise.) Untraced,
 * none of it is loaded.
 */
function loadTracer(): ChatTracer {
  // A require() in a function: esbuild keeps the module's evaluation lazy, so it runs only here.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Tracer: PowertoolsTracer } = require('@aws-lambda-powertools/tracer') as typeof import('@aws-lambda-powertools/tracer');
  return new PowertoolsTracer();
}

export const tracer: ChatTracer = tracingEnabled() ? loadTracer() : untraced;

/**
 * What every function's invocation shares, the WebSocket routes' (handler.ts) and the queue
 * consumer's: the logger's Lambda context; a `## <name>` trace subsegment for the invocation
 * (on Lambda the segment itself belongs to the service and takes no annotation), with the cold
 * start annotated on it and an uncaught error recorded; the cold start as a metric; and the
 * metrics published at the end, whatever happens.
 */
export async function instrumented<T>(context: Context, name: string, work: () => Promise<T>): Promise<T> {
  logger.addContext(context);
  const segment = tracer.getSegment();
  const subsegment = segment?.addNewSubsegment(`## ${name}`);
  if (subsegment) tracer.setSegment(subsegment);
  tracer.annotateColdStart();
  metrics.captureColdStartMetric();
  try {
    return await work();
  } catch (error: unknown) {
    subsegment?.addError(error as Error);
    throw error;
  } finally {
    subsegment?.close();
    if (segment) tracer.setSegment(segment);
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
}
