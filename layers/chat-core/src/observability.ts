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
 * or it runs locally (AWS_SAM_LOCAL: the local runtime, `sam local`), where there is no daemon.
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
 * Powertools Tracer, loaded only when this instance traces. Importing it loads the X-Ray SDK,
 * which installs an async_hooks hook with a callback on every promise (and again in its
 * Lambda set-up wherever LAMBDA_TASK_ROOT is set, traced or not): a fan-out is thousands of
 * promises, and the layer's cold init grows by the SDK's size. Untraced, none of it is loaded.
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
