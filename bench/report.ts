/** docs/PERFORMANCE.md and the terminal summary, from one run's results. */
import { type ChartLine, latencyChart } from './chart';
import { cpuShare, PRICES } from './model';
import type { Series } from './latency';
import { memoryLines } from './memory';
import { type Results, type SizeResult, floorRatio, shippedThroughput, stats, targets } from './results';
import { kib, markdownTable, median, ms, ratio, textTable } from './stats';

const n = (value: number, digits = 2): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const usd = (value: number): string => (value === 0 ? '$0' : `$${value < 0.01 ? value.toPrecision(2) : value.toFixed(2)}`);
const pct = (s: { p50: number; p95: number; p99: number }): string[] => [ms(s.p50), ms(s.p95), ms(s.p99)];
const count = (value: number): string => value.toLocaleString('en-US');

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

function decompositionSection(r: Results): string {
  const s = r.sizes[r.sizes.length - 1] as SizeResult;
  const rows: [string, string, Series | undefined][] = [
    ['bare `ws` broadcast (main thread, no HTTP)', 'floor (b)', s.ws],
    ['SDK PostToConnection → minimal @connections, clean worker', 'floor (a)', s.sdk],
    ["SDK PostToConnection → the runtime's @connections, clean worker", '+ the local @connections', s.sdkToRuntime],
    ['chat-core `broadcast()` over the room in a worker, untraced', '+ chat-core (room Query, per-post timeout)', s.layerBroadcast],
    ['chat-core `broadcast()` over the room in a worker, traced as on AWS', '+ Tracing Active (the X-Ray SDK)', s.layerBroadcastTraced],
    [
      '`sendmessage` through the local runtime, untraced (Tracing PassThrough; lever.ts)',
      'the project: + writes, Lambda hop',
      s.projectUntraced,
    ],
    ['`sendmessage` through the local runtime, as shipped (Tracing Active, traced as on Lambda)', 'the project as deployed', s.project],
    ['side check: floor (a) with the X-Ray SDK and its own cls-hooked loaded in the worker', "cls-hooked's hook alone", s.sdkXray],
  ];
  const floor = stats(s.sdk).p50;
  const cpu = (x: Series | undefined): string => n(median(x?.cpuMs ?? []) / s.size, 3);
  const table = markdownTable(
    ['path', 'step', 'p50 ms', 'p95 ms', 'messages', '× SDK floor (p50)', 'CPU ms per delivery'],
    rows
      .filter(([, , x]) => x !== undefined)
      .map(([what, step, x]) => [
        what,
        step,
        ms(stats(x).p50),
        ms(stats(x).p95),
        String(stats(x).count),
        ratio(stats(x).p50 / floor),
        cpu(x),
      ]),
  );
  return `### Where the time goes at ${count(s.size)} recipients\n\nThe same ${count(s.size)} recipients reached in steps from the SDK floor to the project, same run. Each step adds one thing to the step above it; the traced rows run the same code as a function with \`Tracing: Active\` runs on AWS (Powertools Tracer and the X-Ray SDK loaded, captured clients, a sampled trace; lever.ts). All rows ran interleaved, message by message. CPU per delivery is the whole process's CPU time (every thread: poster or sandbox, the runtime's main thread, the clients) from the send to the last arrival, over the recipients (median).\n\n${table}\n`;
}

function costSection(r: Results): string {
  const c = r.cost;
  const side = (name: string, x: typeof c.project): string[] => [
    name,
    ...pct(stats(x.latency)),
    n(x.perMessage.readUnits),
    n(x.perMessage.writeUnits),
    n(x.perMessage.items, 0),
    Object.entries(x.byOperation)
      .map(([op, t]) => `${op} ×${n(t.calls, t.calls % 1 ? 2 : 0)}`)
      .join(', '),
  ];
  const table = markdownTable(
    ['algorithm', 'p50 ms', 'p95', 'p99', 'RCU / message', 'WCU / message', 'items read / message', 'DynamoDB calls / message'],
    [side('project (room index Query)', c.project), side('tutorial (Scan, Promise.all)', c.baseline)],
  );
  return `${table}\n\n${c.rooms} rooms of ${c.roomSize} connections (${count(c.tableItems)} items in the connections table); ${c.recipients} recipients per message; ${c.messages} messages each after warm-up. Capacity is DynamoDB's own accounting (\`ReturnConsumedCapacity: TOTAL\`, which dynalite computes the DynamoDB way: item sizes summed per request, 4 KB read units, eventually consistent reads at half, index reads included), added to every request by a counting proxy in front of the store; both latencies include that proxy's hop. The project's reads are its room-index Query; its writes are the sender's rate-limit counter (UpdateItem), the room's head, which chains the message to the one before (UpdateItem, \`prevId\`), and the stored message (PutItem), which the tutorial does not do; a send with a \`clientId\` adds a read and a write of its record.\n`;
}

function throughputSection(r: Results): string {
  const t = shippedThroughput(r);
  const cores = r.machine.cores;
  const table = markdownTable(
    [
      'configuration',
      'deliveries / s',
      'messages / s',
      'CPU ms per delivery',
      `process CPU (of ${cores} cores)`,
      `deliveries / s if the process had the ${cores} cores`,
    ],
    r.throughput.map(({ label, result: x }) => [
      label,
      `**${count(Math.round(x.deliveredPerSecond))}**`,
      n(x.messagesPerSecond, 1),
      n(x.cpuMsPerDelivery, 3),
      n(x.cpuSecondsPerSecond, 2),
      count(Math.round((cores * 1000) / x.cpuMsPerDelivery)),
    ]),
  );
  const errors = r.throughput.reduce((sum, v) => sum + v.result.errors, 0);
  const firstError = r.throughput.find((v) => v.result.firstError)?.result.firstError;
  return (
    `${count(t.senders)} chat.v1 senders in a room of ${count(t.recipients)} plain recipients, each keeping ${t.window} messages in flight (the next one goes when the echo of an earlier one comes back), in ${t.rounds} measured window(s) of ${t.seconds} s per configuration after 1 s of warm-up each${r.throughput.length > 1 ? ', the configurations taking turns window by window' : ''}; every chat message any connection of the room receives is a delivery (senders included). Figures are medians over the windows.${errors ? ` ${errors} error frames (first: \`${firstError ?? ''}\`).` : ''}\n\n${table}\n\n` +
    "CPU ms per delivery is the CPU time of the whole benchmark process (runtime main thread with the store, the sandboxes, and the benchmark's own clients) over the deliveries: unlike deliveries per second it hardly depends on what else the machine runs, and the last column is what it would allow with every core to itself. The rows after the first are levers (lever.ts), each in its own runtime.\n"
  );
}

function bundlesSection(r: Results): string {
  const b = r.bundles;
  const rows = b.functions.map((f) => [
    f.logicalId,
    kib(f.bytes),
    kib(f.mapBytes),
    ms(f.initMs),
    ms(f.initNoSourceMapsMs),
    ms(f.processMs),
  ]);
  const table = markdownTable(
    ['function', 'bundle (index.js)', 'source map', 'cold init ms', 'without --enable-source-maps', 'process start → handler loaded'],
    rows,
  );
  return `Built with ${b.tool} (\`${b.command}\`, ${n(b.buildSeconds, 1)} s). The shared layer (chat-core: SDK clients, Powertools, zod, the chat code) is ${kib(b.layerBytes)} of JavaScript plus ${kib(b.layerMapBytes)} of source map, loaded by every function.\n\n${table}\n\nCold init: a fresh \`node\` process per sample, in a copy of the build under the OS temporary directory (nothing above it has a node_modules, as in /var/task), with the template's environment (including \`NODE_OPTIONS=--enable-source-maps\`) and the layer on NODE_PATH as Lambda resolves /opt/nodejs/node_modules; the time to \`require\` the handler module, median of ${r.quick ? 'a few' : 'several'} samples per function.\n`;
}

function queueSection(r: Results): string {
  const q = r.queue;
  const i = r.modelInputs;
  const measured = markdownTable(
    ['figure', 'value'],
    [
      [
        'room, threshold, shard size',
        `${count(q.recipients)} recipients, FanoutThreshold ${q.threshold}, FanoutShardSize ${q.shardSize} → ${q.shardsPerMessage} shards per message`,
      ],
      ['send → last recipient through SQS + FanoutFunction (p50 / p95 / p99)', pct(stats(q.latency)).join(' / ') + ' ms'],
      ['FanoutFunction invocations per message', n(q.fanoutInvocationsPerMessage)],
      [
        `FanoutFunction duration, one shard of ${q.shardSize} (median)`,
        `${ms(i.shardOverheadMs + q.shardSize * i.perPostMs)} ms → ${n(i.perPostMs, 3)} ms per post`,
      ],
      ['FanoutFunction duration, one shard of 1 (median)', `${ms(i.shardOverheadMs)} ms (per-shard overhead, one post included)`],
      [
        `FanoutFunction duration, one event of ${Math.min(10, q.shardsPerMessage)} shards (median)`,
        `${ms(stats({ samples: q.batchMs }).p50)} ms (the records of an event are served one after another)`,
      ],
      [
        'send → first recipient through the queue (p50): sendmessage, SendMessageBatch, the event source, the first post',
        `${ms(i.handOffMs)} ms`,
      ],
      [
        `send → first recipient, direct, ${count(r.sizes[r.sizes.length - 1]?.size ?? 0)} recipients (p50): what comes before the first post`,
        `${ms(i.directFirstMs)} ms`,
      ],
      [
        'reading the room index (local store)',
        `${n(i.queryMsPerRecipient, 4)} ms per recipient; ${n(q.indexItemBytes, 0)} bytes per index entry`,
      ],
      ['SendMessageBatch of 10 shards (local SQS)', `${ms(i.sendBatchMs)} ms`],
      ['shard message body', `${n(i.shardBytesFixed, 0)} bytes + ${n(i.shardBytesPerRecipient, 1)} bytes per recipient`],
    ],
  );
  const rows = r.model.map((m) => [
    count(m.recipients),
    m.path,
    String(m.shards),
    String(m.invocations),
    ms(m.latencyLocalMs),
    ms(m.latencyAwsMs),
    m.path === 'queued' ? ms(m.latencyAwsAltMs) : '',
    usd(m.cost.apiGateway * 1e6),
    usd(m.cost.lambda * 1e6),
    usd(m.cost.sqs * 1e6),
    usd(m.cost.dynamodb * 1e6),
    usd(m.cost.total * 1e6),
  ]);
  const model = markdownTable(
    [
      'recipients',
      'path',
      'shards',
      'invocations',
      "latency ms, this machine's per-post time",
      'latency ms, AWS estimate',
      `AWS estimate with BatchSize ${r.model[0]?.altBatchSize ?? 1}`,
      'API Gateway',
      'Lambda',
      'SQS',
      'DynamoDB',
      'total',
    ],
    rows,
  );
  return (
    `#### Measured (same run)\n\n${measured}\n\n#### Model: one message to a room of N (cost per million messages, USD)\n\n${model}\n\n` +
    `How it is computed. The first latency column uses this machine's per-post time as if every invocation had a core of its own (locally they share ${r.machine.cores}); the second is an estimate for AWS. A room up to FanoutThreshold (${i.threshold}) is served by sendmessage alone: the first figure is the measured p50 (interpolated between the measured sizes), the AWS estimate the measured time before the first post plus N posts at the AWS per-post time. Above the threshold: the measured send → first recipient through the queue (${count(i.benchRecipients)} recipients), plus the longer room read (the measured read time per recipient) and any further SendMessageBatch calls of 10 shards (measured time each, one after another), plus the fan-out itself: the event source hands batches of up to ${i.batchSize} shard${i.batchSize === 1 ? '' : 's'} (its BatchSize) to invocations that run in parallel up to the concurrency, and an invocation serves its shards one after another, each taking the measured per-shard overhead plus ${i.shardSize} × the per-post time. That is an upper bound: serving starts with the first batch, not the last.\n\n` +
    `Assumptions: template values (MemorySize ${i.memoryMb} MB, FanoutShardSize ${i.shardSize}, FanoutThreshold ${i.threshold}, BatchSize ${i.batchSize}, ${i.postConcurrency} posts in flight per invocation); at most ${count(i.lambdaConcurrency)} fan-out invocations at once (the event source's MaximumConcurrency, FanoutMaxConcurrency; the SQS event source also ramps up its pollers, which the model ignores); the measured per-post time is CPU time on one core of this machine, and Lambda gives a ${i.memoryMb} MB function ${n(cpuShare(i.memoryMb), 2)} of a vCPU, so the AWS estimate divides it by that share, or uses ⌈shard / ${i.postConcurrency}⌉ × ${i.awsPostRoundTripMs} ms (an assumed same-region PostToConnection round trip, not measured) when that is larger; the hand-off, room read and SendMessageBatch times are the local ones. ` +
    `Prices (us-east-1, on demand, USD per million): API Gateway WebSocket messages ${PRICES.apiGatewayMessagesPerMillion} (each recipient's frame and the sender's message, up to 32 KB each), Lambda requests ${PRICES.lambdaRequestsPerMillion} and ${PRICES.lambdaGbSecondArm} per GB-second (arm64), SQS requests ${PRICES.sqsRequestsPerMillion} (each 64 KB chunk; SendMessageBatch, then one ReceiveMessage and one DeleteMessageBatch per invocation; empty polls left out), DynamoDB read units ${PRICES.dynamodbReadUnitsPerMillion} and write units ${PRICES.dynamodbWriteUnitsPerMillion} (the room read at ${n(r.queue.indexItemBytes, 0)} bytes per index entry, eventually consistent, and the message's ${n(i.writeUnitsPerMessage, 1)} write units). Connection minutes, CloudWatch and data transfer are left out.\n`
  );
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

Everything runs on 127.0.0.1 in one Node.js process: the local runtime (WebSocket API, Management API, SQS and the embedded DynamoDB on its main thread, each function in worker-thread sandboxes, at most one per core per function), the benchmark's own \`ws\` clients, and the reference posters, which run in a worker thread as the functions do. Recipients are plain (tutorial) connections; each room also has one plain sender, which the tutorial's rules leave out of its own fan-out. Messages go one after another, the variants of a room size interleaved message by message (so that they see the same machine); the first ${r.warmup} of each series are warm-up and left out.

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

\`npm run bench\` runs everything above (several minutes) and rewrites this file and \`docs/${CHART_FILE}\`; \`npm run bench -- --quick\` (what CI runs, no thresholds) measures smaller rooms with fewer messages in under a minute, prints the table and writes nothing here unless \`--write\` is added; \`--no-write\` prints only; \`--no-sam\` bundles with esbuild even when sam is installed. Every run also leaves its raw figures in \`.aws-sam/bench/last-run.json\` (quick runs: \`last-quick-run.json\`), from which \`--render\` writes this file again without measuring. The code is in \`bench/\` (\`run.ts\` drives the phases; \`baseline.ts\` is the tutorial's algorithm; \`floor.ts\` the minimal @connections server; \`capacity.ts\` the DynamoDB accounting proxy; \`model.ts\` the model above).
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
    `baseline (${r.cost.rooms} rooms of ${r.cost.roomSize}): project ${ms(stats(r.cost.project.latency).p50)} ms p50, ${n(r.cost.project.perMessage.readUnits)} RCU/msg; tutorial ${ms(stats(r.cost.baseline.latency).p50)} ms p50, ${n(r.cost.baseline.perMessage.readUnits)} RCU/msg`,
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
