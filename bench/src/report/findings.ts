/** The "Findings" of docs/PERFORMANCE.md: what the run's figures say, and the levers they point at. */
import type { Series } from '../harness/latency';
import { median } from '../harness/stats';
import type { SizeResult } from '../scenarios/sizes';
import { ms, ratio } from './format';
import { cpuShare } from './model';
import { type Results, floorRatio, shippedThroughput, stats, targets } from './results';

/** The change from b to a, signed: "+12%", "-1%". */
const pctMore = (a: number, b: number): string => {
  const change = Math.round((a / b - 1) * 100);
  return `${change >= 0 ? '+' : ''}${change}%`;
};

export function findings(r: Results): string {
  const s = r.sizes[r.sizes.length - 1] as SizeResult;
  const p50 = (x: Series | undefined): number => stats(x).p50;
  const [sdk, xray, local, layer, layerTraced, project, projectUntraced] = [
    s.sdk,
    s.sdkXray,
    s.sdkToRuntime,
    s.layerBroadcast,
    s.layerBroadcastTraced,
    s.project,
    s.projectUntraced,
  ].map(p50) as [number, number, number, number, number, number, number];
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
      `By steps ("Where the time goes"): the runtime's own @connections endpoint, on a main thread it shares with the embedded DynamoDB, the gateway and the benchmark's clients, takes ${ms(local)} ms (${pctMore(local, sdk)}; local emulation only); ` +
      `chat-core's broadcast() ${ms(layer)} ms (its room Query, per-post timeout and abort signal; it posts from as many lanes as posts in flight, taking the recipients in order from one iterator, the lanes started ten a turn of the event loop so that the first posts leave while the next are prepared; and each post takes the direct path of platform/direct-post.ts, the SDK's own signer and HTTP handler without the SDK's per-call stack, which the floor pays on every post: that is how the project goes ${layer < sdk ? 'under' : 'near'} the floor); ` +
      `and the rest of sendmessage (rate-limit write, message write, the Lambda hop) brings it to ${ms(project)} ms.`,
  );
  const small = r.sizes[0];
  if (small && small !== s) {
    const [smallProject, smallUntraced, smallSdk] = [small.project, small.projectUntraced, small.sdk].map(p50) as [number, number, number];
    out.push(
      `- **Small rooms** (${small.size} recipients, p50): the project takes ${ms(smallProject)} ms against the floor's ${ms(smallSdk)} ms (${ratio(smallProject / smallSdk)}). ` +
        'The difference is the fixed cost of a message, not its posts: two ordered rounds of store calls come before the first post (the rate limits beside the room head, then the message write beside the room Query), ' +
        "each call on chat-core's direct path in the sandbox (the SDK's signer and HTTP handler without its per-call stack, platform/direct-dynamodb.ts), and through SigV4, IAM and the embedded store, which serves one request at a time, on the runtime's main thread. " +
        (smallUntraced
          ? `Tracing is ${ms(smallProject - smallUntraced)} ms of it (${ms(smallUntraced)} ms untraced): in Lambda the X-Ray SDK sends each subsegment over UDP as it closes (the direct calls' go on the next turn of the event loop, off the message's path). `
          : '') +
        'Posting while the message is being stored, or storing it before the rate limits answer, would save a round but give up "stored before anyone receives it" or store refused messages; and a transaction (TransactWriteItems) returns no old values, so it cannot give the message its place after the room head (`prevId`).',
    );
  }
  const untracedThroughput = r.throughput.find((v) => v.label.includes('untraced'))?.result;
  const shipped = shippedThroughput(r);
  out.push(
    '- **Tracing (applied).** The headline is the template as shipped, `Tracing: Active`: the local runtime traces each invocation as Lambda does (Powertools Tracer and the X-Ray SDK loaded, the DynamoDB and SQS clients captured, the Management API client not, a sampled trace per invocation, segments to its X-Ray daemon). ' +
      "The X-Ray SDK keeps its context with cls-hooked, an `async_hooks` hook with a callback on every promise's init, before, after and destroy, traced or not (aws/aws-xray-sdk-node#420): a fan-out is thousands of promises, and the hook alone made the SDK floor 1.66x as slow. The layer's build now gives the SDK `layers/chat-core/src/platform/xray-context.ts` for `cls-hooked/context`: the same namespace API on AsyncLocalStorage, which Node.js 24 carries with each async context frame, at no cost per promise. " +
      (projectUntraced
        ? `What Active costs now, in the same run: p50 ${ms(project)} ms traced against ${ms(projectUntraced)} ms untraced at ${s.size} recipients (${ratio(project / sdk)} the floor against ${ratio(projectUntraced / sdk)}); broadcast() alone ${ms(layerTraced)} ms traced against ${ms(layer)} ms; the X-Ray SDK with its own cls-hooked, loaded on the SDK floor, still ${pctMore(xray, sdk)} (${ms(xray)} ms)` +
          (untracedThroughput
            ? `; ${shipped.cpuMsPerDelivery.toFixed(2)} ms of CPU per delivery traced against ${untracedThroughput.cpuMsPerDelivery.toFixed(2)} untraced in the throughput run. `
            : '. ') +
          'A deployment that wants no traces sets `Tracing=PassThrough` (chat-core then does not even load the SDK) and keeps logs and metrics.'
        : 'The full run measures the untraced lever (`Tracing: PassThrough`) beside the shipped configuration.'),
  );
  const base = stats(r.cost.baseline.latency).p50;
  const proj = stats(r.cost.project.latency).p50;
  out.push(
    `- **Reads** per message are the room's, not the table's: ${r.cost.project.perMessage.readUnits.toFixed(2)} RCU (one Query of the room index, ${Math.round(r.cost.project.perMessage.items)} entries) against the tutorial's ${r.cost.baseline.perMessage.readUnits.toFixed(2)} RCU (a Scan of all ${r.cost.tableItems} items); ` +
      "the tutorial's grows with every connection of every room, the project's with the room only. " +
      (base < proj
        ? `On latency the tutorial is ahead here (${ms(base)} ms against ${ms(proj)} ms p50): it writes nothing (the project stores the message, chains it to the room's previous one and counts the sender's rate limit first) and is called directly rather than through the gateway's Lambda hop; locally its Scan of ${r.cost.tableItems} small items is quick. Its cost is what does not scale: reads grow with the table, and a new client per message, with an unbounded Promise.all, opens new connections for every message.`
        : `The tutorial is also slower (${ms(base)} ms against ${ms(proj)} ms p50): it scans the table, builds a new Management API client (new connections) per message and posts with an unbounded Promise.all.`),
  );
  out.push(
    `- **Bundles** stay at ${Math.round((Math.max(...fns.map((f) => f.bytes)) / 1024) * 10) / 10} KiB or less because everything shared is in the layer; the layer itself is ${Math.round(r.bundles.layerBytes / 1024)} KiB and is what a cold start loads ` +
      '(zod is imported as a namespace, `import * as z`, which esbuild tree-shakes; the named `{ z }` export kept all of zod, its locales included; ' +
      "the SDK's credential providers past the environment's, which Lambda never needs, are bundles of their own beside it, loaded on first use). " +
      `Slowest cold init ${ms(init)} ms with the template's \`NODE_OPTIONS=--enable-source-maps\`, ${ms(initNoMaps)} ms without it: ` +
      (init <= 100
        ? 'within the target, so the readable stack traces stay.'
        : initNoMaps <= 100
          ? 'the source-map support alone puts it over the target.'
          : 'over the target either way: most of it is compiling and initialising the layer (the AWS SDK clients, Powertools, zod).'),
  );
  const t = shipped;
  const floorCpu = median(s.sdk.cpuMs) / s.size;
  const wsCpu = median(s.ws.cpuMs) / s.size;
  const layerCpu = median(s.layerBroadcast?.cpuMs ?? []) / s.size;
  const localCpu = median(s.sdkToRuntime?.cpuMs ?? []) / s.size;
  const capacity = (x: { cpuMsPerDelivery: number }): number => Math.round((r.machine.cores * 1000) / x.cpuMsPerDelivery);
  const former = r.throughput.find((v) => v.label.includes('former default'))?.result;
  out.push(
    `- **Throughput**: ${Math.round(t.deliveredPerSecond)} deliveries/s as shipped, at ${t.cpuMsPerDelivery.toFixed(2)} ms of CPU per delivery, so at most ~${capacity(t)}/s with all ${r.machine.cores} cores of this machine to itself: the target needs ${((r.machine.cores * 1000) / 2000).toFixed(2)} ms or less here, ` +
      `and the SDK floor itself costs ${floorCpu.toFixed(2)} ms per delivery at ${s.size} recipients (bare ws: ${wsCpu.toFixed(3)} ms). ` +
      (s.layerBroadcast && s.sdkToRuntime
        ? `The posts themselves cost less than the SDK's (chat-core's broadcast() with its direct posts: ${layerCpu.toFixed(2)} ms per delivery through the runtime's @connections, against ${localCpu.toFixed(2)} for the SDK's PostToConnectionCommand through it); `
        : '') +
      "what is left goes to the runtime's main thread (HTTP, WebSocket frames, the embedded store, and checking every call's SigV4 signature and IAM) and, once per message, to the store calls in the sandbox. " +
      'Sandboxes per function (applied): the local runtime now starts one per core by default (`os.availableParallelism()`), since each sandbox is a V8 isolate with its own copy of the layer, JIT and heap' +
      (former
        ? `; the former default of 8 measured beside it: ${former.cpuMsPerDelivery.toFixed(2)} ms per delivery, ${Math.round(former.deliveredPerSecond)}/s in this run.`
        : '.'),
  );
  const big = r.model[r.model.length - 1];
  const batchSize = r.modelInputs.batchSize;
  // The largest queued room where the other BatchSize changes the estimate (at the largest, the
  // event source's maximum concurrency may bound both alike).
  const differs = (m: (typeof r.model)[number]): boolean =>
    m.path === 'queued' && Math.round(m.latencyAwsAltMs) !== Math.round(m.latencyAwsMs);
  const shown = [...r.model].reverse().find(differs) ?? big;
  const boundAlike =
    big && shown !== big
      ? ` (at ${big.recipients.toLocaleString('en-US')}, ${ms(big.latencyAwsMs)} ms either way: the event source's maximum concurrency, ${r.modelInputs.lambdaConcurrency} invocations at once, bounds both)`
      : '';
  out.push(
    `- **Queue path**: one FanoutFunction event of ${Math.min(10, q.shardsPerMessage)} shards takes ${ms(batch)} ms, about ${(batch / shard).toFixed(1)}× one shard (${ms(shard)} ms): the handler serves an event's records one after another, and posting is CPU-bound (${r.modelInputs.perPostMs.toFixed(3)} ms of CPU per post here; a ${r.modelInputs.memoryMb} MB function gets ${cpuShare(r.modelInputs.memoryMb).toFixed(2)} of a vCPU), so shards go faster on more invocations than one after another in one. ` +
      (batchSize > 1
        ? `Proposed (template.yaml, FanoutEventSource): BatchSize 1; the model gives ${big ? ms(big.latencyAwsAltMs) : '?'} ms instead of ${big ? ms(big.latencyAwsMs) : '?'} ms for ${big?.recipients.toLocaleString('en-US')} recipients, for the same Lambda compute (only requests grow).`
        : `The template's event source has BatchSize 1 (one shard per invocation; ${q.fanoutInvocationsPerMessage.toFixed(1)} invocations per message measured here); with BatchSize 10 the model would give ${shown ? ms(shown.latencyAwsAltMs) : '?'} ms instead of ${shown ? ms(shown.latencyAwsMs) : '?'} ms for ${shown?.recipients.toLocaleString('en-US')} recipients${boundAlike}. More memory for FanoutFunction (more CPU per post) is the next lever.`),
  );
  const connect = s.connectMs;
  if (connect !== undefined) {
    out.push(
      `- **Joining** costs grow with the room: each $connect reads the room index to send the join notice (up to FanoutThreshold + 1 entries; larger rooms get no notice), so filling a room of ${s.size} took ${(connect / 1000).toFixed(1)} s here, about N² / 2 index entries read in all for a room up to the threshold. ` +
        'That is the price of presence; a room that does without it (plain clients only) could skip the read.',
    );
  }
  return out.join('\n');
}
