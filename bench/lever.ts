/**
 * A lever measured through the real handlers, without changing them: the X-Ray SDK's promise
 * hook. aws-xray-sdk-core (loaded by Powertools Tracer) creates its cls-hooked namespace, an
 * async_hooks hook with a destroy callback on every promise, when it is imported in automatic
 * mode, and again in its Lambda set-up whenever LAMBDA_TASK_ROOT is set, traced or not. These
 * variables keep it from doing either; only the environment differs from the shipped runtime,
 * and tracing is off locally anyway (AWS_SAM_LOCAL), so the handlers behave the same.
 */
import type { LocalRuntime } from '../local/index';
import { projectSeries, type Series, type SeriesPlan } from './latency';
import { openRoom, roomSockets, startRuntime, stopRuntime } from './runtime';
import { measureThroughput, type ThroughputPlan, type ThroughputResult } from './throughput';

export const NO_XRAY_HOOK: Record<string, string> = { AWS_XRAY_MANUAL_MODE: 'true', LAMBDA_TASK_ROOT: '' };

export async function withoutXrayHook(
  size: number,
  series: SeriesPlan,
  throughput: ThroughputPlan,
): Promise<{ project: Series; throughput: Omit<ThroughputResult, 'sockets'> }> {
  const runtime: LocalRuntime = await startRuntime({ env: NO_XRAY_HOOK });
  const sockets = [];
  try {
    const room = await openRoom(runtime, `nohook${size}`, size);
    sockets.push(...roomSockets(room));
    const project = await projectSeries(room, series);
    const { sockets: more, ...result } = await measureThroughput(runtime, throughput);
    sockets.push(...more);
    return { project, throughput: result };
  } finally {
    await stopRuntime(runtime, sockets);
  }
}
