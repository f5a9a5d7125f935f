import type { ChatMessage } from '../../../web/src/protocol';

/** A message of room r with id n (ULID-shaped, sorting as n), naming the one before it. */
export const message = (n: number, prevId?: number): ChatMessage => ({
  id: `01HQ3Z9V5X8G2M4N6P7R8S${String(n).padStart(4, '0')}`,
  room: 'r',
  name: 'ann',
  text: `#${n}`,
  sentAt: '2022-01-25T18:50:07.642Z',
  ...(prevId !== undefined && { prevId: message(prevId).id }),
});
