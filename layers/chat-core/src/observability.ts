import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

/**
 * One Logger, Tracer and Metrics per function instance, configured by the
 * POWERTOOLS_* variables of the template's Globals (service name, namespace, level).
 */
export const logger = new Logger();
export const tracer = new Tracer();
export const metrics = new Metrics();

export { MetricUnit };
