/** The sections of docs/PERFORMANCE.md past the headline table: where the time goes, the baseline, throughput, bundles, the queue. */
import type { Series } from '../harness/latency';
import { median } from '../harness/stats';
import type { SizeResult } from '../scenarios/sizes';
import { count, kib, markdownTable, ms, n, pct, ratio, usd } from './format';
import { cpuShare, PRICES } from './model';
import { type Results, shippedThroughput, stats } from './results';

export function decompositionSection(r: Results): string {
  const s = r.sizes[r.sizes.length - 1] as SizeResult;
  const rows: [string, string, Series | undefined][] = [
    ['bare `ws` broadcast (main thread, no HTTP)', 'floor (b)', s.ws],
    ['SDK PostToConnection → minimal @connections, clean worker', 'floor (a)', s.sdk],
    ["SDK PostToConnection → the runtime's @connections, clean worker", '+ the local @connections', s.sdkToRuntime],
    [
      'chat-core `broadcast()` over the room in a worker, untraced',
      '+ chat-core (room Query, per-post timeout, direct posts)',
      s.layerBroadcast,
    ],
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

export function costSection(r: Results): string {
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
    [
      side('project (room index Query)', c.project),
      ...(c.page ? [side('project, as the chat page sends (chat.v1, with a clientId)', c.page)] : []),
      side('tutorial (Scan, Promise.all)', c.baseline),
    ],
  );
  return `${table}\n\n${c.rooms} rooms of ${c.roomSize} connections (${count(c.tableItems)} items in the connections table); ${c.recipients} recipients per message; ${c.messages} messages each after warm-up. Capacity is DynamoDB's own accounting (\`ReturnConsumedCapacity: TOTAL\`, which dynalite computes the DynamoDB way: item sizes summed per request, 4 KB read units, eventually consistent reads at half, index reads included), added to every request by a counting proxy in front of the store; both latencies include that proxy's hop. The project's reads are its room-index Query; its writes are the sender's rate-limit counter (UpdateItem), the room's head, which chains the message to the one before (UpdateItem, \`prevId\`), and the stored message (PutItem), which the tutorial does not do; a send with a \`clientId\` (the page's row) adds a read and a write of its record, the read made beside the rate limits for a sender the function has served before.\n`;
}

export function throughputSection(r: Results): string {
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

export function bundlesSection(r: Results): string {
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
  return `Built with ${b.tool} (\`${b.command}\`, ${n(b.buildSeconds, 1)} s). The shared layer (chat-core: SDK clients, Powertools, zod, the chat code) is ${kib(b.layerBytes)} of JavaScript plus ${kib(b.layerMapBytes)} of source map, loaded by every function${b.layerLazyBytes ? ` (and ${kib(b.layerLazyBytes)} of the SDK's credential providers past the environment's, bundles of their own that it loads only when the environment has no credentials, never on Lambda)` : ''}.\n\n${table}\n\nCold init: a fresh \`node\` process per sample, in a copy of the build under the OS temporary directory (nothing above it has a node_modules, as in /var/task), with the template's environment (including \`NODE_OPTIONS=--enable-source-maps\`) and the layer on NODE_PATH as Lambda resolves /opt/nodejs/node_modules; the time to \`require\` the handler module, median of ${r.quick ? 'a few' : 'several'} samples per function.\n`;
}

export function queueSection(r: Results): string {
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
