/**
 * `npm run bench`: the fan-out benchmark (a benchmark, not a test; no thresholds).
 * Starts the local runtime and real `ws` clients, measures, prints a table, and (full run, or
 * --write) writes docs/PERFORMANCE.md and docs/fanout-latency.svg. See options.ts for flags,
 * and ../README.md for where each part lives.
 * Everything listens on 127.0.0.1 and is closed before it exits.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { loadTemplate } from 'sam-websocket-local';
import { startPoster } from './floors/poster';
import { PROJECT_DIR, runtimeDefaults } from './harness/runtime';
import { median } from './harness/stats';
import { parseArgs } from './options';
import { findings } from './report/findings';
import { modelRow, type ModelInputs } from './report/model';
import { CHART_FILE, chart, markdown, terminal } from './report/report';
import { type Results, machine, stats } from './report/results';
import { measureBundles } from './scenarios/bundles';
import { measureCost } from './scenarios/cost';
import { measureMemory } from './scenarios/memory';
import { measureQueue } from './scenarios/queue';
import { measureSizes, type SizeResult } from './scenarios/sizes';

const started = performance.now();
const info = machine();
const log = (message: string): void => {
  const load = loadavg()[0] ?? 0;
  info.loadDuring.push(load);
  process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s, load ${load.toFixed(1)}] ${message}\n`);
};

/** Linear through the measured (size, p50) points, extended past the last two. */
function directLatency(sizes: SizeResult[]): (recipients: number) => number {
  const points = sizes.map((s) => [s.size, stats(s.project).p50] as const);
  return (x) => {
    const i = Math.max(
      1,
      points.findIndex(([size]) => size >= x),
    );
    const [[x0, y0], [x1, y1]] = [points[Math.min(i, points.length - 1) - 1], points[Math.min(i, points.length - 1)]] as [
      readonly [number, number],
      readonly [number, number],
    ];
    return y0 + ((y1 - y0) * (x - x0)) / (x1 - x0 || 1);
  };
}

async function writeReport(results: Results): Promise<void> {
  await writeFile(join(PROJECT_DIR, 'docs', 'PERFORMANCE.md'), markdown(results, findings(results)));
  await writeFile(join(PROJECT_DIR, 'docs', CHART_FILE), chart(results));
  console.log(`wrote docs/PERFORMANCE.md and docs/${CHART_FILE}`);
}

async function main(): Promise<void> {
  const plan = parseArgs(process.argv.slice(2));
  if (plan.render) {
    const results = JSON.parse(await readFile(join(PROJECT_DIR, '.aws-sam', 'bench', 'last-run.json'), 'utf8')) as Results;
    console.log(terminal(results));
    await writeReport(results);
    return;
  }
  runtimeDefaults.maxConcurrency = plan.maxConcurrency;
  const startedAt = new Date().toISOString();
  const model = await loadTemplate(join(PROJECT_DIR, 'template.yaml'));
  const sendmessage = model.functions.get('SendMessageFunction');
  const concurrency = Number(sendmessage?.environment.FANOUT_CONCURRENCY ?? 100); // chat-core's default

  log(`building and timing cold starts (${plan.sam && !plan.quick ? 'sam build if installed' : 'esbuild'})`);
  const why = plan.quick ? 'quick runs skip sam build' : '--no-sam';
  const { close: removeBuilds, ...bundles } = await measureBundles(model, {
    sam: plan.sam && !plan.quick,
    why,
    coldStarts: plan.coldStarts,
  });
  try {
    const layerDir = join(bundles.opt, 'nodejs', 'node_modules', 'chat-core');
    const { sizes, throughput } = await measureSizes({ plan, model, layerDir, concurrency, log });
    const series = { warmup: plan.warmup, timeoutMs: 15_000 };
    log(`tutorial baseline, ${plan.cost.rooms} rooms of ${plan.cost.roomSize}`);
    const poster = await startPoster(PROJECT_DIR);
    const cost = await measureCost(plan.cost, series, poster).finally(() => poster.close());
    log(`fan-out queue, ${plan.queue.recipients} recipients, threshold ${plan.queue.threshold}`);
    const queue = await measureQueue(plan.queue, series);
    log(`memory: the runtime with ${plan.memory.connections} connections, a sandbox's fan-out to ${plan.memory.fanoutRecipients}`);
    const memory = await measureMemory({ ...plan.memory, layerDir }, log);

    const shardMs = median(queue.shardMs);
    const onePost = median(queue.onePostShardMs);
    const mapping = model.queueMappings.find((m) => m.functionId === 'FanoutFunction');
    const inputs: Omit<ModelInputs, 'directMs'> = {
      memoryMb: model.functions.get('FanoutFunction')?.memoryMb ?? 512,
      threshold: Number(sendmessage?.environment.FANOUT_THRESHOLD ?? 1000),
      shardSize: Number(sendmessage?.environment.FANOUT_SHARD_SIZE ?? 500),
      batchSize: mapping?.batchSize ?? 10,
      postConcurrency: concurrency,
      lambdaConcurrency: mapping?.maximumConcurrency ?? 1000, // the event source's bound, else the account default
      awsPostRoundTripMs: 20,
      perPostMs: Math.max(0, (shardMs - onePost) / Math.max(1, queue.shardSize - 1)),
      shardOverheadMs: onePost,
      handOffMs: median(queue.latency.firsts),
      benchRecipients: queue.recipients,
      directFirstMs: median((sizes[sizes.length - 1] as SizeResult).project.firsts),
      queryMsPerRecipient: queue.queryMsPerRecipient,
      sendBatchMs: queue.sendBatchMs,
      shardBytesPerRecipient: queue.shardBytesPerRecipient,
      shardBytesFixed: queue.shardBytesFixed,
      readUnitsPerRecipient: (queue.indexItemBytes / 4096) * 0.5,
      writeUnitsPerMessage: cost.project.perMessage.writeUnits,
    };
    const results: Results = {
      quick: plan.quick,
      command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      startedAt,
      seconds: 0,
      machine: info,
      warmup: plan.warmup,
      jitWarmup: plan.jitWarmup,
      concurrency,
      sizes,
      cost,
      throughput,
      bundles,
      queue,
      memory,
      modelInputs: inputs,
      model: [1_000, 10_000, 100_000].map((n) => modelRow({ ...inputs, directMs: directLatency(sizes) }, n)),
    };
    results.seconds = (performance.now() - started) / 1000;
    results.machine.loadAtEnd = loadavg();

    const out = join(PROJECT_DIR, '.aws-sam', 'bench');
    await mkdir(out, { recursive: true });
    const raw = plan.quick ? 'last-quick-run.json' : 'last-run.json';
    await writeFile(join(out, raw), JSON.stringify(results, null, 2));
    console.log(terminal(results));
    if (plan.write) await writeReport(results);
    else {
      console.log(
        `raw figures in .aws-sam/bench/${raw} (docs/PERFORMANCE.md not written: ${plan.quick ? 'quick run; add --write' : '--no-write'})`,
      );
    }
  } finally {
    await removeBuilds();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
