/**
 * DynamoDB read cost and latency per message, the project against the tutorial's algorithm,
 * with `rooms` rooms of `roomSize` connections in one table. Both run against the same local
 * runtime (same store, same @connections, same sockets), with every DynamoDB request counted
 * by the capacity proxy (capacity.ts); their latencies include that proxy's hop.
 */
import type WebSocket from 'ws';
import { connectionIdOf, connectMany } from './clients';
import { startCapacityProxy, totals, type OperationTally } from './capacity';
import { timeSeries, type Series, type SeriesPlan } from './latency';
import type { Poster } from './poster';
import { openRoom, roomSockets, startRuntime, stopRuntime } from './runtime';

export interface CostPlan {
  rooms: number;
  roomSize: number;
  messages: number;
}

export interface CostSide {
  latency: Series;
  /** Per message: every operation together, and each operation. */
  perMessage: OperationTally;
  byOperation: Record<string, OperationTally>;
}

export interface CostResult extends CostPlan {
  tableItems: number;
  recipients: number;
  project: CostSide;
  baseline: CostSide;
}

function perMessage(tally: Record<string, OperationTally>, messages: number): Pick<CostSide, 'perMessage' | 'byOperation'> {
  const scale = (t: OperationTally): OperationTally => ({
    calls: t.calls / messages,
    readUnits: t.readUnits / messages,
    writeUnits: t.writeUnits / messages,
    items: t.items / messages,
  });
  return {
    perMessage: scale(totals(tally)),
    byOperation: Object.fromEntries(Object.entries(tally).map(([op, t]) => [op, scale(t)])),
  };
}

export async function measureCost(plan: CostPlan, series: Omit<SeriesPlan, 'messages'>, poster: Poster): Promise<CostResult> {
  const proxy = await startCapacityProxy();
  const runtime = await startRuntime({ env: { AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint } });
  proxy.target = runtime.dynamodbEndpoint;
  const sockets: WebSocket[] = [];
  try {
    // Room 0 holds the sender and roomSize - 1 recipients; the other rooms only fill the table.
    const room = await openRoom(runtime, 'cost0', plan.roomSize - 1);
    sockets.push(...roomSockets(room));
    for (let r = 1; r < plan.rooms; r += 1) {
      sockets.push(...(await connectMany((i) => `${runtime.wsUrl}?room=cost${r}&name=r${i}`, plan.roomSize)));
    }
    const sender = await connectionIdOf(room.sender);
    const recipients = room.recipients.length;

    const measure = async (tag: string, send: (text: string) => unknown): Promise<CostSide> => {
      await timeSeries(room.receipts, recipients, { ...series, messages: series.warmup, warmup: 0 }, `${tag}-warm`, send);
      proxy.reset();
      const latency = await timeSeries(room.receipts, recipients, { ...series, messages: plan.messages, warmup: 0 }, tag, send);
      return { latency, ...perMessage(proxy.tally(), plan.messages) };
    };
    const project = await measure('cost-project', (text) => room.sender.send(JSON.stringify({ action: 'sendmessage', message: text })));
    const baseline = await measure('cost-baseline', (text) =>
      poster.run({
        kind: 'tutorial',
        dynamodbEndpoint: proxy.endpoint,
        message: { table: runtime.tables.ConnectionsTable as string, room: room.name, sender, message: text, managementEndpoint: runtime.connectionsUrl },
      }));
    return { ...plan, tableItems: sockets.length, recipients, project, baseline };
  } finally {
    await stopRuntime(runtime, sockets);
    await proxy.close();
  }
}
