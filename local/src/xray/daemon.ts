/**
 * The X-Ray daemon of the local runtime: where functions of `Tracing: Active` send their segments
 * (AWS_XRAY_DAEMON_ADDRESS, UDP on 127.0.0.1), as the daemon Lambda runs beside each function
 * does. It keeps what a developer asks of a trace: per trace id, the subsegments recorded (the
 * handler's, each captured AWS call's), how long each took, and which failed (error, fault,
 * throttle), and it prints one line per trace once its segments stop coming. When the runtime's
 * own environment names a daemon (AWS_XRAY_DAEMON_ADDRESS), the functions send to that one
 * instead, and this one does not start.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { RuntimeLog } from '../core/log.js';

/** One segment or subsegment document as the X-Ray SDK sends it (the fields read here). */
interface SegmentDocument {
  trace_id?: string;
  id?: string;
  parent_id?: string;
  name?: string;
  namespace?: string;
  start_time?: number;
  end_time?: number;
  error?: boolean;
  fault?: boolean;
  throttle?: boolean;
  aws?: { operation?: string };
  subsegments?: SegmentDocument[];
}

export interface TracedCall {
  /** `## sendmessage`, `DynamoDB.UpdateItem`, ... */
  name: string;
  durationMs: number | undefined;
  failed: boolean;
}

export interface TraceSummary {
  traceId: string;
  calls: TracedCall[];
}

export interface XrayDaemon {
  /** host:port, as AWS_XRAY_DAEMON_ADDRESS takes it. */
  address: string;
  /** False when the functions send to a daemon the environment named. */
  local: boolean;
  /** Documents received, and the traces they belong to (the most recent MAX_TRACES). */
  received(): { documents: number; traces: TraceSummary[] };
  close(): Promise<void>;
}

const MAX_TRACES = 500;
/** A trace is printed once nothing more of it came for this long. */
const QUIET_MS = 300;

function callOf(document: SegmentDocument): TracedCall {
  const operation = document.aws?.operation;
  const name = operation && document.name && !document.name.startsWith('##') ? `${document.name}.${operation}` : (document.name ?? '?');
  const durationMs =
    document.start_time !== undefined && document.end_time !== undefined ? (document.end_time - document.start_time) * 1000 : undefined;
  return { name, durationMs, failed: Boolean(document.error || document.fault || document.throttle) };
}

/** Every document of a packet (a header line, then one segment or subsegment) with the subsegments it carries. */
function documentsOf(packet: Buffer): SegmentDocument[] {
  const text = packet.toString('utf8');
  const body = text.slice(text.indexOf('\n') + 1);
  let document: SegmentDocument;
  try {
    document = JSON.parse(body) as SegmentDocument;
  } catch {
    return [];
  }
  const all: SegmentDocument[] = [];
  const walk = (doc: SegmentDocument, traceId: string | undefined): void => {
    const withTrace = { ...doc, trace_id: doc.trace_id ?? traceId };
    all.push(withTrace);
    for (const sub of doc.subsegments ?? []) walk(sub, withTrace.trace_id);
  };
  walk(document, undefined);
  return all;
}

export function describeTrace(trace: TraceSummary): string {
  const calls = trace.calls.map(
    (call) => `${call.name}${call.durationMs === undefined ? '' : ` ${call.durationMs.toFixed(0)} ms`}${call.failed ? ' FAILED' : ''}`,
  );
  const failed = trace.calls.filter((call) => call.failed).length;
  return `trace ${trace.traceId}: ${calls.join(', ')}${failed > 0 ? `  (${failed} failed)` : ''}`;
}

export async function startXrayDaemon(log: RuntimeLog, env: NodeJS.ProcessEnv = process.env): Promise<XrayDaemon> {
  const named = env.AWS_XRAY_DAEMON_ADDRESS;
  if (named) {
    return { address: named, local: false, received: () => ({ documents: 0, traces: [] }), close: () => Promise.resolve() };
  }
  const socket: Socket = createSocket('udp4');
  const traces = new Map<string, TraceSummary>();
  const timers = new Map<string, NodeJS.Timeout>();
  let documents = 0;
  socket.on('message', (packet) => {
    for (const document of documentsOf(packet)) {
      documents += 1;
      const traceId = document.trace_id;
      if (!traceId) continue;
      let trace = traces.get(traceId);
      if (!trace) {
        trace = { traceId, calls: [] };
        traces.set(traceId, trace);
        if (traces.size > MAX_TRACES) traces.delete(traces.keys().next().value as string);
      }
      trace.calls.push(callOf(document));
      clearTimeout(timers.get(traceId));
      timers.set(
        traceId,
        setTimeout(() => {
          timers.delete(traceId);
          const done = traces.get(traceId);
          if (done) log.info(describeTrace(done));
        }, QUIET_MS).unref(),
      );
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const { port } = socket.address();
  return {
    address: `127.0.0.1:${port}`,
    local: true,
    received: () => ({ documents, traces: [...traces.values()].map((trace) => ({ traceId: trace.traceId, calls: [...trace.calls] })) }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers.values()) clearTimeout(timer);
        socket.close(() => resolve());
      }),
  };
}
