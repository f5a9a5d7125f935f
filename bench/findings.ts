/** The "Findings" of docs/PERFORMANCE.md: what the run's figures say, and the levers they point at. */
import type { Series } from './latency';
import { type Results, type SizeResult, floorRatio, stats, targets } from './results';
import { cpuShare } from './model';
import { ms, ratio } from './stats';

const pctMore = (a: number, b: number): string => `${Math.round((a / b - 1) * 100)}%`;

export function findings(r: Results): string {
  const s = r.sizes[r.sizes.length - 1] as SizeResult;
  const p50 = (x: Series | undefined): number => stats(x).p50;
  const [sdk, xray, local, layer0, layer, project, project0] = [s.sdk, s.sdkXray, s.sdkToRuntime, s.layerBroadcastNoHook, s.layerBroadcast, s.project, s.projectNoHook].map(p50) as number[] as [number, number, number, number, number, number, number];
  const missed = targets(r).filter((t) => !t.met);
  const fns = r.bundles.functions;
  const init = Math.max(...fns.map((f) => f.initMs));
  const initNoMaps = Math.max(...fns.map((f) => f.initNoSourceMapsMs));
  const q = r.queue;
  const batch = stats({ samples: q.batchMs }).p50;
  const shard = stats({ samples: q.shardMs }).p50;
  const out: string[] = [];

  out.push(`- **Targets missed: ${missed.length === 0 ? 'none' : missed.map((t) => t.name).join('; ')}.**`);
  out.push(
    `- **Latency against the floor** (${s.size} recipients, p50): the project takes ${ms(project)} ms, ${ratio(floorRatio(s))} the SDK floor's ${ms(sdk)} ms. ` +
      `By steps ("Where the time goes"): the runtime's own @connections endpoint, on a main thread it shares with the embedded DynamoDB, the gateway and the benchmark's clients, takes ${ms(local)} ms (+${pctMore(local, sdk)}; local emulation only); ` +
      `chat-core's broadcast() without the X-Ray hook ${ms(layer0)} ms (its room Query, per-post timeout and abort signal); with the hook, as shipped, ${ms(layer)} ms (+${pctMore(layer, layer0)}); ` +
      `and the rest of sendmessage (rate-limit write, message write, the Lambda hop) brings it to ${ms(project)} ms. On the floor alone the hook costs +${pctMore(xray, sdk)} (${ms(xray)} ms).`,
  );
  const lever = s.projectNoHook
    ? `Measured through the real sendmessage with only the environment changed (lever.ts): p50 ${ms(project0)} ms instead of ${ms(project)} ms at ${s.size} recipients (${ratio(project0 / sdk)} the floor instead of ${ratio(project / sdk)})` +
      (r.throughputNoHook ? `, and ${Math.round(r.throughputNoHook.deliveredPerSecond)} deliveries/s instead of ${Math.round(r.throughput.deliveredPerSecond)}. ` : '. ')
    : '';
  out.push(
    '- **Lever: the X-Ray SDK\'s promise hook.** `aws-xray-sdk-core`, which Powertools Tracer loads, creates its cls-hooked namespace (an `async_hooks` hook with a destroy callback on every promise) when it is imported, ' +
      'and again in its Lambda set-up whenever `LAMBDA_TASK_ROOT` is set, that is on AWS, whether anything is traced or not (aws/aws-xray-sdk-node#420). A fan-out is thousands of promises. ' + lever +
      'Proposed (layers/chat-core/src/observability.ts and aws.ts, not changed here): load the Tracer lazily and only when tracing is wanted (not under `AWS_SAM_LOCAL`, not with `POWERTOOLS_TRACE_ENABLED=false`), ' +
      'and decide per function whether `Tracing: Active` is worth it on sendmessage and fanout (it also records one subsegment per post); then re-run `npm run bench`.',
  );
  const base = stats(r.cost.baseline.latency).p50;
  const proj = stats(r.cost.project.latency).p50;
  out.push(
    `- **Reads** per message are the room's, not the table's: ${r.cost.project.perMessage.readUnits.toFixed(2)} RCU (one Query of the room index, ${Math.round(r.cost.project.perMessage.items)} entries) against the tutorial's ${r.cost.baseline.perMessage.readUnits.toFixed(2)} RCU (a Scan of all ${r.cost.tableItems} items); ` +
      'the tutorial\'s grows with every connection of every room, the project\'s with the room only. ' +
      (base < proj
        ? `On latency the tutorial is ahead here (${ms(base)} ms against ${ms(proj)} ms p50): it runs without the X-Ray SDK (see the lever), writes nothing (the project stores the message and counts the sender's rate limit first) and is called directly rather than through the gateway's Lambda hop; locally its Scan of ${r.cost.tableItems} small items is quick. Its cost is what does not scale: reads grow with the table, and a new client per message, with an unbounded Promise.all, opens new connections for every message.`
        : `The tutorial is also slower (${ms(base)} ms against ${ms(proj)} ms p50): it scans the table, builds a new Management API client (new connections) per message and posts with an unbounded Promise.all.`),
  );
  out.push(
    `- **Bundles** stay at ${Math.round(Math.max(...fns.map((f) => f.bytes)) / 1024 * 10) / 10} KiB or less because everything shared is in the layer; the layer itself is ${Math.round(r.bundles.layerBytes / 1024)} KiB and is what a cold start loads. ` +
      `Slowest cold init ${ms(init)} ms with the template's \`NODE_OPTIONS=--enable-source-maps\`, ${ms(initNoMaps)} ms without it: ` +
      (init > 100 && initNoMaps <= 100
        ? 'the source-map support alone puts it over the target. Proposed: drop `--enable-source-maps` from the Globals (stack traces then point into the minified bundle; the maps still ship for offline decoding), or keep it and accept the cost.'
        : init > 100
          ? 'over the target either way: most of it is compiling and initialising the layer (AWS SDK clients, Powertools, zod); lazy-loading what a function does not use (SQS client outside sendmessage, the Tracer) is the lever.'
          : 'within the target.'),
  );
  out.push(
    `- **Throughput**: ${Math.round(r.throughput.deliveredPerSecond)} deliveries/s with ${r.throughput.senders} senders into a room of ${r.throughput.recipients}. ` +
      `Everything shares ${r.machine.cores} cores here (the store, the gateway, up to 8 sandboxes, the clients): it is a CPU budget, ` +
      'spent mostly in the SDK per post (middleware, signing) and in the store.',
  );
  const big = r.model[r.model.length - 1];
  out.push(
    `- **Queue path**: a batch of ${Math.min(10, q.shardsPerMessage)} shards takes ${ms(batch)} ms in one FanoutFunction invocation, about ${(batch / shard).toFixed(1)}× one shard (${ms(shard)} ms): the handler serves a batch's shards one after another, and posting is CPU-bound (${r.modelInputs.perPostMs.toFixed(3)} ms of CPU per post here; a ${r.modelInputs.memoryMb} MB function gets ${cpuShare(r.modelInputs.memoryMb).toFixed(2)} of a vCPU). ` +
      'So serving a batch\'s records concurrently inside one invocation would not help much; more invocations would: ' +
      (big ? `with BatchSize 1 the model gives ${ms(big.latencyAwsBatchOneMs)} ms instead of ${ms(big.latencyAwsMs)} ms for ${big.recipients.toLocaleString('en-US')} recipients, for the same Lambda compute (only the request count grows). ` : '') +
      'Proposed (template.yaml, FanoutEventSource): BatchSize 1 (or 2), or more memory for FanoutFunction (more CPU per post).',
  );
  const connect = s.connectMs;
  if (connect !== undefined) {
    out.push(
      `- **Joining** costs grow with the room: each $connect reads the whole room index (to decide on the join notice), so filling a room of ${s.size} took ${(connect / 1000).toFixed(1)} s here (reads ~ N² / 2 entries in all). ` +
        'A `Limit` of FanoutThreshold + 1 on that read would bound it for rooms above the threshold (which get no notice anyway).',
    );
  }
  return out.join('\n');
}
