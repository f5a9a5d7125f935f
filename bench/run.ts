/**
 * `npm run bench`: the fan-out benchmark of issue 5 (a benchmark, not a test; no thresholds).
 * Starts the local runtime and real `ws` clients, measures, prints a table, and (full run, or
 * --write) writes docs/PERFORMANCE.md and docs/fanout-latency.svg. See options.ts for flags.
 * Everything listens on 127.0.0.1 and is closed before it exits.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { LocalRuntime } from '../local/index';
import { loadTemplate, type TemplateModel } from '../local/template';
import { measureBundles } from './bundles';
import { measureCost } from './cost';
import { findings } from './findings';
import { startFloorServer } from './floor';
import { decomposition, floorSeries, projectSeries, type SeriesPlan } from './latency';
import { withoutXrayHook } from './lever';
import { modelRow, type ModelInputs } from './model';
import { parseArgs, type Plan } from './options';
import { startPoster } from './poster';
import { measureQueue } from './queue';
import { CHART_FILE, chart, markdown, terminal } from './report';
import { type Results, type SizeResult, machine, stats } from './results';
import { openRoom, PROJECT_DIR, roomIds, roomSockets, runtimeDefaults, startRuntime, stopRuntime } from './runtime';
import { median } from './stats';
import { measureThroughput } from './throughput';

const started = performance.now();
const log = (message: string): void => {
  process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}\n`);
};

/** The environment of SendMessageFunction's sandboxes, for loading the layer in a poster worker. */
function layerEnv(runtime: LocalRuntime, model: TemplateModel): Record<string, string> {
  const fn = model.functions.get('SendMessageFunction');
  return {
    ...fn?.environment,
    NODE_OPTIONS: '',
    CONNECTIONS_TABLE: runtime.tables.ConnectionsTable ?? '',
    MESSAGES_TABLE: runtime.tables.MessagesTable ?? '',
    CONNECTIONS_URL: runtime.connectionsUrl,
    AWS_ENDPOINT_URL_DYNAMODB: runtime.dynamodbEndpoint,
    AWS_LAMBDA_FUNCTION_NAME: fn?.functionName ?? 'SendMessageFunction',
    AWS_SAM_LOCAL: 'true',
    POWERTOOLS_DEV: 'true',
  };
}

/** Linear through the measured (size, p50) points, extended past the last two. */
function directLatency(sizes: SizeResult[]): (recipients: number) => number {
  const points = sizes.map((s) => [s.size, stats(s.project).p50] as const);
  return (x) => {
    const i = Math.max(1, points.findIndex(([size]) => size >= x));
    const [[x0, y0], [x1, y1]] = [points[Math.min(i, points.length - 1) - 1], points[Math.min(i, points.length - 1)]] as [readonly [number, number], readonly [number, number]];
    return y0 + ((y1 - y0) * (x - x0)) / (x1 - x0 || 1);
  };
}

const seriesPlan = (plan: Plan, size: number): SeriesPlan => ({ messages: plan.messages(size), warmup: plan.warmup, timeoutMs: 15_000 });

async function latencyBySize(plan: Plan, model: TemplateModel, layerDir: string, concurrency: number): Promise<{ sizes: SizeResult[]; throughput: Results['throughput'] }> {
  const series = (size: number): SeriesPlan => seriesPlan(plan, size);
  const largest = Math.max(...plan.sizes);
  const [clean, xray, floor] = await Promise.all([startPoster(PROJECT_DIR), startPoster(PROJECT_DIR, { xray: true }), startFloorServer()]);
  const sizes: SizeResult[] = [];
  try {
    for (const size of plan.sizes) {
      log(`floors, ${size} recipients`);
      const posters = { clean, ...(size === largest ? { xray } : {}) };
      sizes.push({ size, ...(await floorSeries(floor, size, series(size), posters, concurrency)), project: { samples: [], firsts: [], lost: 0 } });
    }
    const runtime = await startRuntime();
    const sockets = [];
    try {
      for (const result of sizes) {
        log(`project, ${result.size} recipients: connecting`);
        const connectStarted = performance.now();
        const room = await openRoom(runtime, `size${result.size}`, result.size);
        result.connectMs = performance.now() - connectStarted;
        sockets.push(...roomSockets(room));
        log(`project, ${result.size} recipients: sending`);
        result.project = await projectSeries(room, series(result.size));
        if (result.size !== largest) continue;
        log(`where the time goes, ${result.size} recipients`);
        const env = layerEnv(runtime, model);
        const [layer, layerNoHook] = await Promise.all([
          startPoster(PROJECT_DIR, { layer: layerDir }, env),
          startPoster(PROJECT_DIR, { layer: layerDir }, { ...env, AWS_XRAY_MANUAL_MODE: 'true' }),
        ]);
        try {
          const ids = await roomIds(runtime, room.name);
          const plan2 = { ...series(result.size), messages: plan.decompositionMessages };
          Object.assign(result, await decomposition(runtime, room, ids, plan2, { clean, layer, layerNoHook }, concurrency));
        } finally {
          await Promise.all([layer.close(), layerNoHook.close()]);
        }
      }
      log(`throughput, ${plan.throughput.seconds} s`);
      const { sockets: tputSockets, ...throughput } = await measureThroughput(runtime, plan.throughput);
      sockets.push(...tputSockets);
      return { sizes, throughput };
    } finally {
      log('closing the runtime');
      await stopRuntime(runtime, sockets);
    }
  } finally {
    await Promise.all([clean.close(), xray.close(), floor.close()]);
  }
}

async function main(): Promise<void> {
  const plan = parseArgs(process.argv.slice(2));
  runtimeDefaults.maxConcurrency = plan.maxConcurrency;
  const startedAt = new Date().toISOString();
  const info = machine();
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const model = await loadTemplate(join(PROJECT_DIR, 'template.yaml'));
  const sendmessage = model.functions.get('SendMessageFunction');
  const concurrency = Number(sendmessage?.environment.FANOUT_CONCURRENCY ?? 100); // chat-core's default

  log(`building and timing cold starts (${plan.sam && !plan.quick ? 'sam build if installed' : 'esbuild'})`);
  const why = plan.quick ? 'quick runs skip sam build' : '--no-sam';
  const { close: removeBuilds, ...bundles } = await measureBundles(model, { sam: plan.sam && !plan.quick, why, coldStarts: plan.coldStarts });
  try {
    const { sizes, throughput } = await latencyBySize(plan, model, join(bundles.opt, 'nodejs', 'node_modules', 'chat-core'), concurrency);
    const largest = sizes[sizes.length - 1] as SizeResult;
    let throughputNoHook: Results['throughputNoHook'];
    if (plan.lever) {
      log(`lever: the X-Ray SDK's promise hook off, ${largest.size} recipients and throughput`);
      const lever = await withoutXrayHook(largest.size, seriesPlan(plan, largest.size), plan.throughput);
      largest.projectNoHook = lever.project;
      throughputNoHook = lever.throughput;
    }
    const series = { warmup: plan.warmup, timeoutMs: 15_000 };
    log(`tutorial baseline, ${plan.cost.rooms} rooms of ${plan.cost.roomSize}`);
    const poster = await startPoster(PROJECT_DIR);
    const cost = await measureCost(plan.cost, series, poster).finally(() => poster.close());
    log(`fan-out queue, ${plan.queue.recipients} recipients, threshold ${plan.queue.threshold}`);
    const queue = await measureQueue(plan.queue, series);

    const shardMs = median(queue.shardMs);
    const onePost = median(queue.onePostShardMs);
    const mapping = model.queueMappings.find((m) => m.functionId === 'FanoutFunction');
    const inputs: Omit<ModelInputs, 'directMs'> = {
      memoryMb: model.functions.get('FanoutFunction')?.memoryMb ?? 512,
      threshold: Number(sendmessage?.environment.FANOUT_THRESHOLD ?? 1000),
      shardSize: Number(sendmessage?.environment.FANOUT_SHARD_SIZE ?? 500),
      batchSize: mapping?.batchSize ?? 10,
      postConcurrency: concurrency,
      lambdaConcurrency: 1000,
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
      concurrency,
      sizes,
      cost,
      throughput,
      ...(throughputNoHook ? { throughputNoHook } : {}),
      bundles,
      queue,
      modelInputs: inputs,
      model: [1_000, 10_000, 100_000].map((n) => modelRow({ ...inputs, directMs: directLatency(sizes) }, n)),
    };
    results.seconds = (performance.now() - started) / 1000;
    results.machine.loadAtEnd = loadavg();

    const out = join(PROJECT_DIR, '.aws-sam', 'bench');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'last-run.json'), JSON.stringify(results, null, 2));
    console.log(terminal(results));
    if (plan.write) {
      await writeFile(join(PROJECT_DIR, 'docs', 'PERFORMANCE.md'), markdown(results, findings(results)));
      await writeFile(join(PROJECT_DIR, 'docs', CHART_FILE), chart(results));
      console.log(`wrote docs/PERFORMANCE.md and docs/${CHART_FILE}`);
    } else {
      console.log(`raw figures in .aws-sam/bench/last-run.json (docs/PERFORMANCE.md not written: ${plan.quick ? 'quick run; add --write' : '--no-write'})`);
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
