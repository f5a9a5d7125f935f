/**
 * Send → last recipient latency series: messages go one after another, timed from the send to
 * the last (and first) arrival among the recipients; the first `warmup` are left out. Several
 * variants are interleaved message by message (see interleave).
 */
import type { Receipts } from './clients';

export interface Series {
  /** Send → last recipient, milliseconds, warm-up excluded. */
  samples: number[];
  /** Send → first recipient (what happens before the first post lands). */
  firsts: number[];
  /** CPU time of the whole process (every thread) from the send to the last arrival. */
  cpuMs: number[];
  /** Messages some recipient never got (within the timeout). */
  lost: number;
}

export interface SeriesPlan {
  messages: number;
  warmup: number;
  timeoutMs: number;
}

const emptySeries = (): Series => ({ samples: [], firsts: [], cpuMs: [], lost: 0 });

export interface Variant {
  name: string;
  receipts: Receipts;
  /** How many must receive each message. */
  recipients: number;
  send(text: string): unknown;
}

export interface InterleaveHooks {
  /** Around each message (for per-message accounting); `measured` is false during warm-up. */
  before?(variant: Variant): void;
  after?(variant: Variant, measured: boolean): void;
}

/**
 * Sends one message per variant per round, rotating which goes first, each timed to its last
 * arrival: variants measured in the same rounds see the same machine, however its load drifts.
 */
export async function interleave(
  variants: Variant[],
  plan: SeriesPlan,
  tag: string,
  hooks: InterleaveHooks = {},
): Promise<Record<string, Series>> {
  const out: Record<string, Series> = Object.fromEntries(variants.map((v) => [v.name, emptySeries()]));
  for (let i = 0; i < plan.warmup + plan.messages; i += 1) {
    for (let j = 0; j < variants.length; j += 1) {
      const variant = variants[(i + j) % variants.length] as Variant;
      const series = out[variant.name] as Series;
      const text = `${tag}:${variant.name}:${i}`;
      const arrival = variant.receipts.expect(text, variant.recipients, plan.timeoutMs);
      hooks.before?.(variant);
      const started = performance.now();
      const cpuBefore = process.cpuUsage();
      await variant.send(text);
      const { complete, first, last } = await arrival;
      const cpu = process.cpuUsage(cpuBefore);
      const measured = i >= plan.warmup;
      hooks.after?.(variant, measured);
      if (!measured) continue;
      if (complete) {
        series.samples.push(last - started);
        series.firsts.push(first - started);
        series.cpuMs.push((cpu.user + cpu.system) / 1000);
      } else series.lost += 1;
    }
  }
  return out;
}

/** One variant alone. */
export async function timeSeries(
  receipts: Receipts,
  recipients: number,
  plan: SeriesPlan,
  tag: string,
  send: (text: string) => unknown,
): Promise<Series> {
  return (await interleave([{ name: 'only', receipts, recipients, send }], plan, tag)).only as Series;
}
