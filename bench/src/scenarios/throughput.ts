/**
 * Sustained delivery through the local runtime: several chat.v1 senders in one room of plain
 * recipients, each keeping `window` messages in flight (its next message goes when the echo
 * of an earlier one comes back, the chat.v1 confirmation that it was stored and fanned out),
 * in measured windows of a fixed time. Every chat message any connection of the room
 * receives is a delivery. Several rooms (in several runtimes) can take turns, window by
 * window, so that a machine whose load drifts treats them alike.
 */
import type WebSocket from 'ws';
import type { LocalRuntime } from 'sam-websocket-local';
import { connectMany, textOf } from '../harness/clients';
import { median, sleep } from '../harness/stats';

export interface ThroughputPlan {
  recipients: number;
  senders: number;
  window: number;
  /** Seconds per measured window. */
  seconds: number;
  /** Windows per room (taking turns with the other rooms). */
  rounds: number;
}

export interface ThroughputResult extends ThroughputPlan {
  sent: number;
  delivered: number;
  deliveredPerSecond: number;
  messagesPerSecond: number;
  /** CPU time of this whole process (runtime, sandboxes, store, clients) per delivery, and per wall-clock second. */
  cpuMsPerDelivery: number;
  cpuSecondsPerSecond: number;
  /** Error frames the senders got (rate limit, …), and the first of them. */
  errors: number;
  firstError?: string;
}

/** A runtime's configuration (the shipped one, or a lever of floors/lever.ts) and what it sustained. */
export interface ThroughputVariant {
  label: string;
  result: ThroughputResult;
}

export interface ThroughputRoom {
  sockets: WebSocket[];
  /** One warmed-up, measured window. */
  measure(): Promise<void>;
  result(): ThroughputResult;
}

export async function openThroughputRoom(runtime: LocalRuntime, plan: ThroughputPlan, room = 'throughput'): Promise<ThroughputRoom> {
  const recipients = await connectMany((i) => `${runtime.wsUrl}?room=${room}&name=r${i}`, plan.recipients);
  const senders = await connectMany((i) => `${runtime.wsUrl}?room=${room}&name=s${i}`, plan.senders, { protocols: ['chat.v1'] });
  const totals = { sent: 0, delivered: 0, errors: 0, seconds: 0, cpuMs: 0 };
  const windows: { rate: number; cpuPerDelivery: number; cpuShare: number; sentRate: number }[] = [];
  let firstError: string | undefined;
  let counting = false;
  let running = false;
  const count = (data: Buffer): void => {
    if (counting && textOf(data)?.startsWith('t:')) totals.delivered += 1;
  };
  recipients.forEach((ws) => ws.on('message', count));
  const kicks = senders.map((ws, index) => {
    let seq = 0;
    const send = (): void => {
      if (!running) return;
      if (counting) totals.sent += 1;
      ws.send(JSON.stringify({ action: 'sendmessage', message: `t:${index}:${seq++}` }));
    };
    ws.on('message', (data: Buffer) => {
      count(data);
      const text = data.toString('utf8');
      if (text.includes(`"text":"t:${index}:`)) send();
      else if (text.includes('"type":"error"')) {
        if (counting) totals.errors += 1;
        firstError ??= text;
        setTimeout(send, 100);
      }
    });
    return () => {
      for (let i = 0; i < plan.window; i += 1) send();
    };
  });

  return {
    sockets: [...recipients, ...senders],
    measure: async () => {
      running = true;
      kicks.forEach((kick) => kick());
      await sleep(1000); // warm-up: sandboxes started, JIT warm
      const before = { ...totals };
      counting = true;
      const started = performance.now();
      const cpuBefore = process.cpuUsage();
      await sleep(plan.seconds * 1000);
      counting = false;
      const cpu = process.cpuUsage(cpuBefore);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      const seconds = (performance.now() - started) / 1000;
      windows.push({
        rate: (totals.delivered - before.delivered) / seconds,
        sentRate: (totals.sent - before.sent) / seconds,
        cpuPerDelivery: cpuMs / Math.max(1, totals.delivered - before.delivered),
        cpuShare: cpuMs / 1000 / seconds,
      });
      totals.cpuMs += cpuMs;
      totals.seconds += seconds;
      running = false;
      await sleep(1000); // what is in flight lands before the next room's turn
    },
    // Medians over the windows: one window caught in a burst of other work does not decide.
    result: () => ({
      ...plan,
      sent: totals.sent,
      delivered: totals.delivered,
      deliveredPerSecond: median(windows.map((w) => w.rate)),
      messagesPerSecond: median(windows.map((w) => w.sentRate)),
      cpuMsPerDelivery: median(windows.map((w) => w.cpuPerDelivery)),
      cpuSecondsPerSecond: median(windows.map((w) => w.cpuShare)),
      errors: totals.errors,
      ...(firstError ? { firstError } : {}),
    }),
  };
}

/** Rooms take turns, window by window, `rounds` times. */
export async function takeTurns(rooms: ThroughputRoom[], rounds: number): Promise<ThroughputResult[]> {
  for (let round = 0; round < rounds; round += 1) {
    for (const room of round % 2 ? [...rooms].reverse() : rooms) await room.measure();
  }
  return rooms.map((room) => room.result());
}
