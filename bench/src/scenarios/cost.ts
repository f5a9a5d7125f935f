/**
 * DynamoDB read cost and latency per message, the project against the tutorial's algorithm,
 * with `rooms` rooms of `roomSize` connections in one table. Both run against the same local
 * runtime (same store, same @connections, same sockets), with every DynamoDB request counted
 * by the capacity proxy (capacity.ts); their latencies include that proxy's hop. The two are
 * interleaved message by message, each message's requests counted for its own side.
 */
import type WebSocket from 'ws';
import type { Poster } from '../floors/poster';
import { connectionIdOf, connectMany } from '../harness/clients';
import { interleave, type Series, type SeriesPlan, type Variant } from '../harness/latency';
import { openRoom, roomSockets, startRuntime, stopRuntime } from '../harness/runtime';
import { startCapacityProxy, totals, type OperationTally } from './capacity';

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
  /** The same room's messages as the chat page sends them: a chat.v1 sender, each with a clientId (absent from older runs). */
  page?: CostSide;
  baseline: CostSide;
}

function add(into: Record<string, OperationTally>, tally: Record<string, OperationTally>): void {
  for (const [op, t] of Object.entries(tally)) {
    const sum = (into[op] ??= { calls: 0, readUnits: 0, writeUnits: 0, items: 0 });
    sum.calls += t.calls;
    sum.readUnits += t.readUnits;
    sum.writeUnits += t.writeUnits;
    sum.items += t.items;
  }
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
    // A page's sender in the same room: chat.v1, a clientId with every message (the recipients
    // receive its messages as they receive the plain sender's).
    const pageSender = (
      await connectMany(() => `${runtime.wsUrl}?room=${room.name}&name=page`, 1, { protocols: ['chat.v1'] })
    )[0] as WebSocket;
    sockets.push(pageSender);
    const sender = await connectionIdOf(room.sender);
    const recipients = room.recipients.length;

    // Interleaved message by message; each message's DynamoDB requests are added to its own side.
    const tallies: Record<string, Record<string, OperationTally>> = { project: {}, page: {}, baseline: {} };
    const variants: Variant[] = [
      {
        name: 'project',
        receipts: room.receipts,
        recipients,
        send: (text) => room.sender.send(JSON.stringify({ action: 'sendmessage', message: text })),
      },
      {
        name: 'page',
        receipts: room.receipts,
        recipients,
        send: (text) =>
          pageSender.send(
            JSON.stringify({ action: 'sendmessage', message: text, clientId: `bench-${text.replace(/[^A-Za-z0-9_-]/g, '-')}` }),
          ),
      },
      {
        name: 'baseline',
        receipts: room.receipts,
        recipients,
        send: (text) =>
          poster.run({
            kind: 'tutorial',
            dynamodbEndpoint: proxy.endpoint,
            message: {
              table: runtime.tables.ConnectionsTable as string,
              room: room.name,
              sender,
              message: text,
              managementEndpoint: runtime.connectionsUrl,
            },
          }),
      },
    ];
    const latency = await interleave(variants, { ...series, messages: plan.messages }, 'cost', {
      before: () => proxy.reset(),
      after: (variant, measured) => {
        if (measured) add(tallies[variant.name] as Record<string, OperationTally>, proxy.tally());
      },
    });
    const side = (name: string): CostSide => ({
      latency: latency[name] as Series,
      ...perMessage(tallies[name] as Record<string, OperationTally>, plan.messages),
    });
    const [project, page, baseline] = [side('project'), side('page'), side('baseline')];
    return { ...plan, tableItems: sockets.length, recipients, project, page, baseline };
  } finally {
    await stopRuntime(runtime, sockets);
    await proxy.close();
  }
}
