/**
 * The room of each sender this sandbox has served: a connection's room is set at $connect and
 * never changes, so once a connection has sent a message here, the next one can take its place
 * in the room's chain (messages.ts, reservePlace) while the sender is still being checked,
 * instead of after. A sandbox serves many connections over its life; the oldest are forgotten
 * past MAX_SENDER_ROOMS, and a forgotten or new sender only costs the serial path.
 */
export const MAX_SENDER_ROOMS = 10_000;

const rooms = new Map<string, string>();

/** The sender's room, if this sandbox has seen the connection send before. */
export function knownSenderRoom(connectionId: string): string | undefined {
  return rooms.get(connectionId);
}

/** Remembers a sender's room (the connection's record, just read). */
export function rememberSenderRoom(connectionId: string, room: string): void {
  rooms.delete(connectionId);
  rooms.set(connectionId, room);
  if (rooms.size > MAX_SENDER_ROOMS) {
    const oldest = rooms.keys().next().value;
    if (oldest !== undefined) rooms.delete(oldest);
  }
}

/** Forgets every sender (a test starts from a cold sandbox). */
export function forgetSenderRooms(): void {
  rooms.clear();
}
