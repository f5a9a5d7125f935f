/**
 * Send → last recipient latency, for the project (sendmessage through the local runtime) and
 * for the floors (the SDK's PostToConnection against the minimal @connections server, and a
 * bare `ws` broadcast), room size by room size. Messages go one after another; the first
 * `warmup` of each series are left out.
 */
import type { LocalRuntime } from '../local/index';
import { closeAll, connectMany, Receipts } from './clients';
import type { FloorServer } from './floor';
import type { Poster } from './poster';
import type { Room } from './runtime';

export interface Series {
  /** Send → last recipient, milliseconds, warm-up excluded. */
  samples: number[];
  /** Send → first recipient (what happens before the first post lands). */
  firsts: number[];
  /** Messages some recipient never got (within the timeout). */
  lost: number;
}

export interface SeriesPlan {
  messages: number;
  warmup: number;
  timeoutMs: number;
}

const emptySeries = (): Series => ({ samples: [], firsts: [], lost: 0 });

/** Runs `send` for each message and times it to its last arrival among `recipients`. */
export async function timeSeries(
  receipts: Receipts,
  recipients: number,
  plan: SeriesPlan,
  tag: string,
  send: (text: string) => unknown,
): Promise<Series> {
  const series = emptySeries();
  for (let i = 0; i < plan.warmup + plan.messages; i += 1) {
    const text = `${tag}:${i}`;
    const arrival = receipts.expect(text, recipients, plan.timeoutMs);
    const started = performance.now();
    await send(text);
    const { complete, first, last } = await arrival;
    if (i < plan.warmup) continue;
    if (complete) {
      series.samples.push(last - started);
      series.firsts.push(first - started);
    } else series.lost += 1;
  }
  return series;
}

/** The project: a plain sender's sendmessage, through the runtime, to a room of `room.recipients`. */
export async function projectSeries(room: Room, plan: SeriesPlan): Promise<Series> {
  return timeSeries(room.receipts, room.recipients.length, plan, `project-${room.name}`, (text) =>
    room.sender.send(JSON.stringify({ action: 'sendmessage', message: text })));
}

export interface FloorResult {
  sdk: Series;
  ws: Series;
  /** The SDK floor with the X-Ray SDK loaded in the poster (what Powertools Tracer brings). */
  sdkXray?: Series;
}

/** Both floors for `size` recipients connected to the floor server. */
export async function floorSeries(
  floor: FloorServer,
  size: number,
  plan: SeriesPlan,
  posters: { clean: Poster; xray?: Poster },
  concurrency: number,
): Promise<FloorResult> {
  const sockets = await connectMany(() => floor.wsUrl, size);
  try {
    const receipts = new Receipts();
    sockets.forEach((ws) => receipts.listen(ws));
    const ids = floor.ids();
    const viaSdk = (poster: Poster) => (text: string) =>
      poster.run({ kind: 'posts', endpoint: floor.connectionsUrl, ids, data: text, concurrency });
    const result: FloorResult = {
      sdk: await timeSeries(receipts, size, plan, `sdk-${size}`, viaSdk(posters.clean)),
      ws: await timeSeries(receipts, size, plan, `ws-${size}`, (text) => floor.broadcast(Buffer.from(text, 'utf8'))),
    };
    if (posters.xray) result.sdkXray = await timeSeries(receipts, size, plan, `xray-${size}`, viaSdk(posters.xray));
    return result;
  } finally {
    await closeAll(sockets);
  }
}

/**
 * Where the project's time goes at one room size, each against the runtime's own sockets:
 * the SDK's posts to the runtime's @connections (ids read from the room index), and the
 * layer's broadcast() on its own (no rate-limit write, no message write, no Lambda hop),
 * with the X-Ray SDK's promise hook on (as shipped) and off.
 */
export async function decomposition(
  runtime: LocalRuntime,
  room: Room,
  ids: string[],
  plan: SeriesPlan,
  posters: { clean: Poster; layer: Poster; layerNoHook: Poster },
  concurrency: number,
): Promise<{ sdkToRuntime: Series; layerBroadcast: Series; layerBroadcastNoHook: Series }> {
  const { receipts } = room;
  const size = room.recipients.length;
  const viaLayer = (poster: Poster) => (text: string) => poster.run({ kind: 'layer', room: room.name, text });
  return {
    sdkToRuntime: await timeSeries(receipts, size, plan, `rt-sdk-${room.name}`, (text) =>
      posters.clean.run({ kind: 'posts', endpoint: runtime.connectionsUrl, ids, data: text, concurrency })),
    layerBroadcastNoHook: await timeSeries(receipts, size, plan, `rt-layer0-${room.name}`, viaLayer(posters.layerNoHook)),
    layerBroadcast: await timeSeries(receipts, size, plan, `rt-layer-${room.name}`, viaLayer(posters.layer)),
  };
}
