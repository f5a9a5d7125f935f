/** The memory figures (scenarios/memory.ts) in a few lines, for the terminal and docs/PERFORMANCE.md. */
import type { MemoryResult } from '../scenarios/memory';
import { count, kib as kb } from './format';

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MiB`;
const signedMib = (bytes: number): string => `${bytes < 0 ? '−' : '+'}${mib(Math.abs(bytes))}`;

/** The figures in a few lines, for the terminal and the report. */
export function memoryLines(r: MemoryResult): string[] {
  const { idle, connected, afterClose } = r.runtime;
  const f = r.fanout;
  const extra = connected.sandboxes - idle.sandboxes;
  return [
    `runtime with ${count(r.runtime.connections)} connections in ${r.runtime.rooms} rooms: ` +
      `RSS ${mib(connected.rssBytes)} (${signedMib(connected.rssBytes - idle.rssBytes)}, ${r.runtime.rssPerConnectionKb} KiB per connection), ` +
      `main-thread heap ${mib(connected.heapUsedBytes)} (${signedMib(connected.heapUsedBytes - idle.heapUsedBytes)}, ` +
      `${r.runtime.heapPerConnectionKb} KiB per connection)`,
    `runtime idle after a warm-up (${idle.sandboxes} sandboxes had run): RSS ${mib(idle.rssBytes)}, heap ${mib(idle.heapUsedBytes)}; ` +
      `once all closed: RSS ${mib(afterClose.rssBytes)}, heap ${mib(afterClose.heapUsedBytes)} ` +
      `(the RSS grows with the sandboxes' work too, whose heaps are not collected here${extra > 0 ? `; ${extra} more sandbox(es) started for the connects` : ''})`,
    `sandbox fan-out to ${count(f.recipients)} recipients (chat-core broadcast(), at most ${f.concurrency} posts in flight): ` +
      `live heap ${signedMib(f.liveGrowthBytes)} (${kb(f.liveBytesPerRecipient)} per recipient: ${kb(f.listBytesPerRecipient)} for the recipient list, ` +
      `${kb(f.bytesPerPostInFlight)} per post in flight); heap in use ${signedMib(f.peakGrowthBytes)} at its peak, garbage included`,
    `idle sandbox with the layer loaded: heap ${mib(f.idleHeapBytes)} (${mib(f.baseHeapBytes)} of it the poster worker without the layer)`,
  ];
}
