/** docs/PERFORMANCE.md and the terminal summary, from one run's results. */
import { median } from '../harness/stats';
import type { SizeResult } from '../scenarios/sizes';
import { type ChartLine, latencyChart } from './chart';
import { count, kib, markdownTable, ms, n, pct, ratio, textTable } from './format';
import { memoryLines } from './memory-lines';
import { type Results, floorRatio, stats, targets } from './results';
import { bundlesSection, costSection, decompositionSection, queueSection, throughputSection } from './sections';

export const CHART_FILE = 'fanout-latency.svg';

function latencyRows(r: Results): string[][] {
  const lever = r.sizes.every((s) => s.projectUntraced);
  return r.sizes.map((s) => {
    const p = stats(s.project);
    const f = stats(s.sdk);
    const untraced = stats(s.projectUntraced);
    return [
      count(s.size),
      ...pct(p),
      ...pct(f),
      ratio(floorRatio(s)),
      ratio(p.p95 / f.p95),
      ms(stats(s.ws).p50),
      ...(lever ? [ms(untraced.p50), ratio(untraced.p50 / f.p50)] : []),
      `${p.count}${s.project.lost ? ` (${s.project.lost} lost)` : ''}`,
    ];
  });
}

const latencyHeader = (r: Results): string[] => [
  'recipients',
  'project p50',
  'p95',
  'p99',
  'SDK floor p50',
  'p95',
  'p99',
  'ratio p50',
  'ratio p95',
  'bare ws p50',
  ...(r.sizes.every((s) => s.projectUntraced) ? ['project p50, untraced (PassThrough)', 'its ratio'] : []),
  'messages',
];

export function chart(r: Results): string {
  const line = (label: string, color: string, pick: (s: SizeResult) => number, dashed = false): ChartLine => ({
    label,
    color,
    dashed,
    points: r.sizes.map((s) => [s.size, pick(s)] as [number, number]),
  });
  const lines: ChartLine[] = [
    line('project p50', '#c0392b', (s) => stats(s.project).p50),
    line('project p99', '#c0392b', (s) => stats(s.project).p99, true),
    line('SDK floor p50', '#2471a3', (s) => stats(s.sdk).p50),
    line('SDK floor p99', '#2471a3', (s) => stats(s.sdk).p99, true),
    line('bare ws p50', '#1e8449', (s) => stats(s.ws).p50),
    ...(r.sizes.every((s) => s.projectUntraced)
      ? [line('project p50, untraced (Tracing PassThrough)', '#e67e22', (s) => stats(s.projectUntraced).p50)]
      : []),
    {
      label: `tutorial baseline p50 (${r.cost.rooms} rooms)`,
      color: '#7d3c98',
      points: [[r.cost.recipients, stats(r.cost.baseline.latency).p50]],
    },
    { label: `project p50 (${r.cost.rooms} rooms)`, color: '#e59866', points: [[r.cost.recipients, stats(r.cost.project.latency).p50]] },
    {
      label: `via queue p50 (${r.queue.shardsPerMessage} shards)`,
      color: '#b9770e',
      points: [[r.queue.recipients, stats(r.queue.latency).p50]],
    },
  ];
  return latencyChart('Fan-out latency, send → last recipient (local runtime)', lines);
}

export function markdown(r: Results, findings: string): string {
  const date = r.startedAt.slice(0, 10);
  const targetTable = markdownTable(
    ['target', 'wanted', 'measured', '', 'lever measured in the same run'],
    targets(r).map((t) => [t.name, t.target, t.measured, t.met ? 'met' : `**missed** (${t.gap})`, t.note ?? '']),
  );
  const m = r.machine;
  const load = m.loadDuring.length ? m.loadDuring : m.loadAtStart.slice(0, 1);
  return `# Performance

Measured by \`${r.command}\` on ${date}${r.quick ? ' (**quick run**: smaller counts; the full run is `npm run bench`)' : ''}, in one run of ${n(r.seconds / 60, 1)} minutes. Every figure below comes from that run.

Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}, Node.js ${m.node}. The 1-minute load average, sampled at each phase, ranged from ${n(Math.min(...load), 1)} to ${n(Math.max(...load), 1)} (median ${n(median(load), 1)}) on ${m.cores} cores: ${Math.max(...load) > m.cores ? "it went past the cores at times (an average over the last minute, so it counts the bench's own earlier phases as well as any other work), so absolute times are noisy; ratios within a phase, and CPU per delivery, are steadier" : 'the machine was otherwise quiet'}.

Everything runs on 127.0.0.1 in one Node.js process: the local runtime (WebSocket API, Management API, SQS and the embedded DynamoDB on its main thread, each function in worker-thread sandboxes, at most one per core per function), the benchmark's own \`ws\` clients, and the reference posters, which run in a worker thread as the functions do. Recipients are plain (tutorial) connections; each room also has one plain sender, which the tutorial's rules leave out of its own fan-out. Messages go one after another, the variants of a room size interleaved message by message (so that they see the same machine); the first ${r.warmup} of each series are warm-up and left out${r.jitWarmup ? `, and the first room size begins with ${r.jitWarmup} more rounds that warm the runtime, its sandboxes and the reference posters alike (V8 compiles hot code only once it has run a while, as it has in a chat that is running)` : ''}.

## Targets

${targetTable}
${r.quick ? '\nA quick run measures smaller rooms with fewer messages: the targets are meant for the full run.\n' : ''}
## Fan-out latency by room size

Send → last recipient, milliseconds: the project is a \`sendmessage\` frame through the local runtime (rate-limit write, message write, room index Query, then at most ${r.concurrency} PostToConnection calls in flight); the SDK floor is the real \`PostToConnectionCommand\` (one reused client, keep-alive, the same ${r.concurrency} in flight) to the same number of sockets through a minimal @connections server; bare ws is a \`ws.send\` loop over them.

${markdownTable(latencyHeader(r), latencyRows(r))}

![send → last recipient latency against room size](${CHART_FILE})

${decompositionSection(r)}
## The tutorial's algorithm as a baseline

${costSection(r)}
## Sustained throughput

${throughputSection(r)}
## Bundles and cold starts

${bundlesSection(r)}
## Memory

${
  r.memory
    ? `${memoryLines(r.memory)
        .map((line) => `- ${line}`)
        .join(
          '\n',
        )}\n\nThe runtime runs in a child process of its own for this (the clients stay in the benchmark's process): its RSS covers the main thread (gateway, store, SQS) and every sandbox's worker thread; the heap is the main thread's, after a full GC, once no function has run for 1.5 s. The RSS grows with the sandboxes' own work too (their heaps are not collected from outside), which is why it stays up once the connections are gone: the heap per connection is the figure that connections hold. The fan-out figures come from chat-core's \`broadcast()\` in a worker (as a sandbox runs it), sampled on a timer and after each page of the room query, with a GC before each sample for the live figures.\n`
    : 'Not measured in this run.\n'
}
## Past one invocation: the fan-out queue

${queueSection(r)}
## Findings

${findings}

## Running it

\`npm run bench\` runs everything above (several minutes) and rewrites this file and \`docs/${CHART_FILE}\`; \`npm run bench -- --quick\` (what CI runs, no thresholds) measures smaller rooms with fewer messages in under a minute, prints the table and writes nothing here unless \`--write\` is added; \`--no-write\` prints only; \`--no-sam\` bundles with esbuild even when sam is installed. Every run also leaves its raw figures in \`.aws-sam/bench/last-run.json\` (quick runs: \`last-quick-run.json\`), from which \`--render\` writes this file again without measuring. The code is the \`bench/\` package ([its README](../bench/README.md)): \`src/run.ts\` drives the phases; \`src/scenarios/\` measures them (\`capacity.ts\`, the DynamoDB accounting proxy); \`src/floors/\` holds what the project is measured against (\`floor.ts\`, the minimal @connections server; \`baseline.ts\`, the tutorial's algorithm; \`lever.ts\`, the levers); \`src/report/\` writes this file (\`model.ts\`, the model above).
`;
}

export function terminal(r: Results): string {
  const lines = [
    '',
    `Fan-out latency, send → last recipient (ms), ${r.machine.cpu}, ${r.machine.cores} cores, Node.js ${r.machine.node}`,
    textTable(latencyHeader(r), latencyRows(r)),
    '',
    textTable(
      ['target', 'wanted', 'measured', '', 'lever'],
      targets(r).map((t) => [t.name, t.target, t.measured, t.met ? 'met' : `MISSED (${t.gap})`, t.note ?? '']),
    ),
    '',
    `baseline (${r.cost.rooms} rooms of ${r.cost.roomSize}): project ${ms(stats(r.cost.project.latency).p50)} ms p50, ${n(r.cost.project.perMessage.readUnits)} RCU/msg;${r.cost.page ? ` as the page sends (clientId) ${ms(stats(r.cost.page.latency).p50)} ms p50;` : ''} tutorial ${ms(stats(r.cost.baseline.latency).p50)} ms p50, ${n(r.cost.baseline.perMessage.readUnits)} RCU/msg`,
    ...r.throughput.map(
      (v) =>
        `throughput, ${v.label}: ${Math.round(v.result.deliveredPerSecond)} delivered/s, ${v.result.cpuMsPerDelivery.toFixed(2)} ms CPU per delivery`,
    ),
    ...(r.memory ? memoryLines(r.memory) : []),
    `queue: ${r.queue.recipients} recipients in ${r.queue.shardsPerMessage} shards, p50 ${ms(stats(r.queue.latency).p50)} ms; bundles ≤ ${kib(Math.max(...r.bundles.functions.map((f) => f.bytes)))}; cold init ≤ ${ms(Math.max(...r.bundles.functions.map((f) => f.initMs)))} ms`,
    `run time ${n(r.seconds, 1)} s`,
    ...(r.quick ? ['(quick run: smaller rooms and counts; the targets are for the full run, `npm run bench`)'] : []),
  ];
  return lines.join('\n');
}
