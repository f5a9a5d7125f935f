/**
 * Sustained delivery through the local runtime: several chat.v1 senders in one room of plain
 * recipients, each keeping `window` messages in flight (its next message goes when the echo
 * of an earlier one comes back, the chat.v1 confirmation that it was stored and fanned out),
 * for a fixed time. Every chat message any connection of the room receives is a delivery.
 */
import type WebSocket from 'ws';
import type { LocalRuntime } from '../local/index';
import { connectMany, textOf } from './clients';
import { sleep } from './stats';

export interface ThroughputPlan {
  recipients: number;
  senders: number;
  window: number;
  seconds: number;
}

export interface ThroughputResult extends ThroughputPlan {
  sent: number;
  delivered: number;
  deliveredPerSecond: number;
  messagesPerSecond: number;
  /** Error frames the senders got (rate limit, …), and the first of them. */
  errors: number;
  firstError?: string;
  sockets: WebSocket[];
}

/** Leaves the connections open (the caller closes them with the runtime). */
export async function measureThroughput(runtime: LocalRuntime, plan: ThroughputPlan): Promise<ThroughputResult> {
  const room = 'throughput';
  const recipients = await connectMany((i) => `${runtime.wsUrl}?room=${room}&name=r${i}`, plan.recipients);
  const senders = await connectMany((i) => `${runtime.wsUrl}?room=${room}&name=s${i}`, plan.senders, { protocols: ['chat.v1'] });
  let counting = false;
  let running = true;
  let delivered = 0;
  let sent = 0;
  let errors = 0;
  let firstError: string | undefined;
  const count = (data: Buffer): void => {
    if (counting && textOf(data)?.startsWith('t:')) delivered += 1;
  };
  recipients.forEach((ws) => ws.on('message', count));
  senders.forEach((ws, index) => {
    let seq = 0;
    const send = (): void => {
      if (!running) return;
      sent += counting ? 1 : 0;
      ws.send(JSON.stringify({ action: 'sendmessage', message: `t:${index}:${seq++}` }));
    };
    ws.on('message', (data: Buffer) => {
      count(data);
      const text = data.toString('utf8');
      if (text.includes(`"text":"t:${index}:`)) send();
      else if (text.includes('"type":"error"')) {
        errors += 1;
        firstError ??= text;
        setTimeout(send, 100);
      }
    });
    for (let i = 0; i < plan.window; i += 1) send();
  });
  // One second of warm-up (sandboxes started, JIT warm), then the measured window.
  await sleep(1000);
  counting = true;
  const started = performance.now();
  await sleep(plan.seconds * 1000);
  counting = false;
  const seconds = (performance.now() - started) / 1000;
  running = false;
  await sleep(500);
  return {
    ...plan,
    sent,
    delivered,
    deliveredPerSecond: delivered / seconds,
    messagesPerSecond: sent / seconds,
    errors,
    ...(firstError ? { firstError } : {}),
    sockets: [...recipients, ...senders],
  };
}
