/** What one run of the benchmark found, and how it compares with the project's performance targets. */
import { cpus, loadavg, totalmem } from 'node:os';
import type { Series } from '../harness/latency';
import { summarize, type Summary } from '../harness/stats';
import type { Bundles } from '../scenarios/bundles';
import type { CostResult } from '../scenarios/cost';
import type { MemoryResult } from '../scenarios/memory';
import type { QueueResult } from '../scenarios/queue';
import type { SizeResult } from '../scenarios/sizes';
import type { ThroughputVariant } from '../scenarios/throughput';
import { ms, ratio } from './format';
import type { ModelInputs, ModelRow } from './model';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  loadAtStart: number[];
  loadAtEnd: number[];
  /** 1-minute load average at the start of each phase. */
  loadDuring: number[];
}

export interface Results {
  quick: boolean;
  command: string;
  startedAt: string;
  seconds: number;
  machine: Machine;
  warmup: number;
  /** Extra warm-up rounds of the first room size (Plan.jitWarmup); absent in runs from before it. */
  jitWarmup?: number;
  concurrency: number;
  sizes: SizeResult[];
  cost: CostResult;
  /** The shipped runtime first, then the levers (full runs). */
  throughput: ThroughputVariant[];
  bundles: Omit<Bundles, 'close'>;
  queue: QueueResult;
  /** Absent in runs from before it was measured. */
  memory?: MemoryResult;
  modelInputs: Omit<ModelInputs, 'directMs'>;
  model: ModelRow[];
}

export function machine(): Machine {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAtStart: loadavg(),
    loadAtEnd: [],
    loadDuring: [],
  };
}

export const stats = (series: Pick<Series, 'samples'> | undefined): Summary => summarize(series?.samples ?? []);

export interface Target {
  name: string;
  target: string;
  measured: string;
  met: boolean;
  /** How far off, when missed. */
  gap?: string;
  /** What a measured lever gives. */
  note?: string;
}

export function targets(r: Results): Target[] {
  const largest = r.sizes[r.sizes.length - 1] as SizeResult;
  const floorRatio = stats(largest.project).p50 / stats(largest.sdk).p50;
  const reads = r.cost.project.perMessage.readUnits / r.cost.baseline.perMessage.readUnits;
  const biggest = Math.max(...r.bundles.functions.map((f) => f.bytes));
  const slowest = Math.max(...r.bundles.functions.map((f) => f.initMs));
  const rate = shippedThroughput(r).deliveredPerSecond;
  const at = largest.size === 1000 ? '1,000' : `${largest.size} (quick run; the target is at 1,000)`;
  return [
    {
      name: `latency vs SDK floor at ${at} recipients (p50)`,
      target: '≤ 1.5×',
      measured: ratio(floorRatio),
      met: floorRatio <= 1.5,
      gap: `${ratio(floorRatio / 1.5)} over the target`,
      ...(largest.projectUntraced
        ? { note: `${ratio(stats(largest.projectUntraced).p50 / stats(largest.sdk).p50)} untraced (Tracing PassThrough)` }
        : {}),
    },
    // Small rooms, the common case in a chat, have targets of their own (at 100 and at 10).
    ...[
      { size: 100, limit: 2 },
      { size: 10, limit: 3 },
    ].flatMap(({ size, limit }) => {
      const s = r.sizes.find((x) => x.size === size);
      if (!s) return [];
      const value = stats(s.project).p50 / stats(s.sdk).p50;
      return [
        {
          name: `latency vs SDK floor at ${size} recipients (p50)`,
          target: `≤ ${limit}×`,
          measured: ratio(value),
          met: value <= limit,
          gap: `${ratio(value / limit)} over the target`,
          ...(s.projectUntraced ? { note: `${ratio(stats(s.projectUntraced).p50 / stats(s.sdk).p50)} untraced` } : {}),
        },
      ];
    }),
    {
      name: `reads per message vs the tutorial, ${r.cost.rooms} rooms of ${r.cost.roomSize}`,
      target: '≤ 1/10',
      measured: `1/${(1 / reads).toFixed(1)} (${r.cost.project.perMessage.readUnits.toFixed(2)} vs ${r.cost.baseline.perMessage.readUnits.toFixed(2)} RCU)`,
      met: reads <= 0.1,
      gap: `${(reads * 10).toFixed(2)}× the allowed reads`,
    },
    (() => {
      const project = stats(r.cost.project.latency).p50;
      const tutorial = stats(r.cost.baseline.latency).p50;
      const page = r.cost.page ? stats(r.cost.page.latency).p50 : undefined;
      return {
        name: `latency vs the tutorial's Scan, ${r.cost.rooms} rooms of ${r.cost.roomSize} (p50)`,
        target: '≤ 1×',
        measured: `${ratio(project / tutorial)} (${ms(project)} vs ${ms(tutorial)} ms)`,
        met: project <= tutorial,
        gap: `${ms(project - tutorial)} ms slower`,
        ...(page !== undefined ? { note: `${ratio(page / tutorial)} as the chat page sends (clientId)` } : {}),
      };
    })(),
    {
      name: 'largest function bundle (layer external)',
      target: '≤ 10 KB',
      measured: `${(biggest / 1024).toFixed(1)} KiB`,
      met: biggest <= 10 * 1024,
      gap: `${((biggest - 10 * 1024) / 1024).toFixed(1)} KiB over`,
    },
    {
      name: 'slowest cold init (median, template NODE_OPTIONS)',
      target: '≤ 100 ms',
      measured: `${slowest.toFixed(0)} ms`,
      met: slowest <= 100,
      gap: `${(slowest - 100).toFixed(0)} ms over`,
      note: `${Math.max(...r.bundles.functions.map((f) => f.initNoSourceMapsMs)).toFixed(0)} ms without --enable-source-maps`,
    },
    {
      name: 'CPU per delivery through the local runtime (whole process)',
      target: '≤ 0.5 ms',
      measured: `${shippedThroughput(r).cpuMsPerDelivery.toFixed(2)} ms`,
      met: shippedThroughput(r).cpuMsPerDelivery <= 0.5,
      gap: `${(shippedThroughput(r).cpuMsPerDelivery - 0.5).toFixed(2)} ms over`,
    },
    {
      name: 'sustained deliveries through the local runtime',
      target: '≥ 2,000 /s',
      measured: `${rate.toFixed(0)} /s`,
      met: rate >= 2000,
      gap: `${(2000 - rate).toFixed(0)} /s short`,
      note: `${shippedThroughput(r).cpuMsPerDelivery.toFixed(2)} ms CPU per delivery: ~${Math.round((r.machine.cores * 1000) / shippedThroughput(r).cpuMsPerDelivery)}/s with the ${r.machine.cores} cores to itself`,
    },
  ];
}

/** Throughput of the runtime as shipped (the first variant). */
export const shippedThroughput = (r: Results): ThroughputVariant['result'] => (r.throughput[0] as ThroughputVariant).result;

/** p50 of the project over p50 of the SDK floor. */
export const floorRatio = (s: SizeResult): number => stats(s.project).p50 / stats(s.sdk).p50;
