/** The chat message frame the benchmark posts when it drives the layer or the queue directly (a fixed id: nothing reads it). */
import type { Shard } from 'chat-core';

export const benchFrame = (room: string, text: string): Shard['frame'] => ({
  type: 'message',
  id: '01BENCH0000000000000000000',
  room,
  name: 'bench',
  text,
  sentAt: new Date().toISOString(),
});
