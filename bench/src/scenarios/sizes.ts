/**
 * The main phase: send → last recipient latency room size by room size, and sustained
 * throughput. At each size the floors (the SDK's PostToConnection to the minimal @connections
 * server, a bare `ws` broadcast), the project (sendmessage through the local runtime as
 * shipped, untraced) and, in full runs, the project traced as on AWS run interleaved, message
 * by message; at the largest size so do the steps in between (the SDK to the runtime's own
 * @connections, chat-core's broadcast() on its own, untraced and traced).
 */
import type WebSocket from 'ws';
import { DEFAULT_SANDBOXES, type LocalRuntime, type TemplateModel } from 'sam-websocket-local';
import { startFloorServer } from '../floors/floor';
import { leverVariants, TRACED_AS_ON_AWS, UNTRACED, UNTRACED_LABEL } from '../floors/lever';
import { startPoster, type Poster } from '../floors/poster';
import { closeAll, connectMany, Receipts } from '../harness/clients';
import { interleave, type Series, type SeriesPlan, type Variant } from '../harness/latency';
import { layerEnv, openRoom, PROJECT_DIR, roomIds, roomSockets, startRuntime, stopRuntime, type Room } from '../harness/runtime';
import type { Plan } from '../options';
import { openThroughputRoom, takeTurns, type ThroughputVariant } from './throughput';

/** One room size: each variant's series (the floors, the project, and at the largest size the steps in between). */
export interface SizeResult {
  size: number;
  /** Time to connect the room's recipients through $connect. */
  connectMs?: number;
  project: Series;
  sdk: Series;
  ws: Series;
  sdkXray?: Series;
  sdkToRuntime?: Series;
  /** chat-core's broadcast() in a worker, untraced (as the local runtime runs it), and traced as on AWS. */
  layerBroadcast?: Series;
  layerBroadcastTraced?: Series;
  /** The lever: sendmessage through a runtime that traces nothing (`Tracing: PassThrough`, floors/lever.ts); `project` is as shipped, traced. */
  projectUntraced?: Series;
}

export interface SizesContext {
  plan: Plan;
  model: TemplateModel;
  /** The built chat-core layer (…/nodejs/node_modules/chat-core). */
  layerDir: string;
  concurrency: number;
  log(message: string): void;
}

export const seriesPlan = (plan: Plan, size: number): SeriesPlan => ({
  messages: plan.messages(size),
  warmup: plan.warmup + (size === plan.sizes[0] ? plan.jitWarmup : 0),
  timeoutMs: 20_000,
});

const sendmessage =
  (room: Room) =>
  (text: string): void =>
    room.sender.send(JSON.stringify({ action: 'sendmessage', message: text }));

export async function measureSizes(ctx: SizesContext): Promise<{ sizes: SizeResult[]; throughput: ThroughputVariant[] }> {
  const { plan, log, concurrency } = ctx;
  const largest = Math.max(...plan.sizes);
  const [clean, xray, floor] = await Promise.all([startPoster(PROJECT_DIR), startPoster(PROJECT_DIR, { xray: true }), startFloorServer()]);
  const posters: Poster[] = [clean, xray];
  const runtimes: { runtime: LocalRuntime; sockets: WebSocket[] }[] = [];
  const start = async (options: Parameters<typeof startRuntime>[0]): Promise<{ runtime: LocalRuntime; sockets: WebSocket[] }> => {
    const entry = { runtime: await startRuntime(options), sockets: [] as WebSocket[] };
    runtimes.push(entry);
    return entry;
  };
  try {
    const shipped = await start({});
    const untraced = plan.lever ? await start(UNTRACED) : undefined;
    const sizes: SizeResult[] = [];
    for (const size of plan.sizes) {
      log(`${size} recipients: connecting the floor's clients and the rooms`);
      const floorSockets = await connectMany(() => floor.wsUrl, size);
      const floorReceipts = new Receipts();
      floorSockets.forEach((ws) => floorReceipts.listen(ws));
      const ids = floor.ids();
      const connectStarted = performance.now();
      const room = await openRoom(shipped.runtime, `size${size}`, size);
      const connectMs = performance.now() - connectStarted;
      shipped.sockets.push(...roomSockets(room));
      const posts = (poster: Poster, endpoint: string, to: string[]) => (text: string) =>
        poster.run({ kind: 'posts', endpoint, ids: to, data: text, concurrency });
      const variants: Variant[] = [
        { name: 'ws', receipts: floorReceipts, recipients: size, send: (text) => floor.broadcast(Buffer.from(text, 'utf8')) },
        { name: 'sdk', receipts: floorReceipts, recipients: size, send: posts(clean, floor.connectionsUrl, ids) },
        { name: 'project', receipts: room.receipts, recipients: size, send: sendmessage(room) },
      ];
      if (untraced) {
        const other = await openRoom(untraced.runtime, `size${size}`, size);
        untraced.sockets.push(...roomSockets(other));
        variants.push({ name: 'projectUntraced', receipts: other.receipts, recipients: size, send: sendmessage(other) });
      }
      if (size === largest) {
        const env = layerEnv(shipped.runtime);
        const [layer, layerTraced] = await Promise.all([
          startPoster(PROJECT_DIR, { layer: ctx.layerDir }, env),
          startPoster(PROJECT_DIR, { layer: ctx.layerDir }, { ...env, ...TRACED_AS_ON_AWS }),
        ]);
        posters.push(layer, layerTraced);
        const viaLayer = (poster: Poster) => (text: string) => poster.run({ kind: 'layer', room: room.name, text });
        variants.push(
          { name: 'sdkXray', receipts: floorReceipts, recipients: size, send: posts(xray, floor.connectionsUrl, ids) },
          {
            name: 'sdkToRuntime',
            receipts: room.receipts,
            recipients: size,
            send: posts(clean, shipped.runtime.connectionsUrl, await roomIds(shipped.runtime, room.name)),
          },
          { name: 'layerBroadcast', receipts: room.receipts, recipients: size, send: viaLayer(layer) },
          { name: 'layerBroadcastTraced', receipts: room.receipts, recipients: size, send: viaLayer(layerTraced) },
        );
      }
      log(`${size} recipients: ${variants.length} variants interleaved, ${plan.messages(size)} messages each`);
      const series = await interleave(variants, seriesPlan(plan, size), `size${size}`);
      sizes.push({ size, connectMs, ...series } as SizeResult);
      await closeAll(floorSockets);
    }

    const first = plan.maxConcurrency
      ? `quick run: ${plan.maxConcurrency} sandboxes per function, as shipped (Tracing Active)`
      : `as shipped (${DEFAULT_SANDBOXES} sandboxes per function: one per core; Tracing Active, traced as on Lambda)`;
    const throughputRuntimes = [{ label: first, entry: shipped }];
    if (untraced) throughputRuntimes.push({ label: `${DEFAULT_SANDBOXES} sandboxes per function, ${UNTRACED_LABEL}`, entry: untraced });
    if (plan.lever) {
      for (const variant of leverVariants()) throughputRuntimes.push({ label: variant.label, entry: await start(variant.options) });
    }
    log(
      `throughput: ${throughputRuntimes.length} runtime(s), ${plan.throughput.rounds} windows of ${plan.throughput.seconds} s each, taking turns`,
    );
    const rooms = [];
    for (const { entry } of throughputRuntimes) {
      const room = await openThroughputRoom(entry.runtime, plan.throughput);
      entry.sockets.push(...room.sockets);
      rooms.push(room);
    }
    const results = await takeTurns(rooms, plan.throughput.rounds);
    return { sizes, throughput: throughputRuntimes.map(({ label }, i) => ({ label, result: results[i] as ThroughputVariant['result'] })) };
  } finally {
    log('closing the runtimes');
    await Promise.all([...posters.map((p) => p.close()), floor.close()]);
    for (const { runtime, sockets } of runtimes) await stopRuntime(runtime, sockets);
  }
}
