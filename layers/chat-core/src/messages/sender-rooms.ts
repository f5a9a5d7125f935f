/**
 * The room (and signed-in subject) of each sender this sandbox has served: a connection's are
 * set at $connect and never change, so once a connection has sent a message here, the next one
 * can take its place in the room's chain, and look up its clientId (messages.ts, reservePlace),
 * while the sender is still being checked, instead of after. A sandbox serves many connections
 * over its life; the oldest are forgotten past MAX_SENDER_ROOMS, and a forgotten or new sender
 * only costs the serial path.
 */
export const MAX_SENDER_ROOMS = 10_000;

/** What a connection's record said of its sender: its room, and the token's subject when signed in. */
export interface KnownSender {
  room: string;
  userId?: string;
}

const rooms = new Map<string, KnownSender>();

/** The sender's room and subject, if this sandbox has seen the connection send before. */
export function knownSender(connectionId: string): KnownSender | undefined {
  return rooms.get(connectionId);
}

/** Remembers a sender (the connection's record, just read). */
export function rememberSender(connectionId: string, sender: KnownSender): void {
  rooms.delete(connectionId);
  rooms.set(connectionId, sender);
  if (rooms.size > MAX_SENDER_ROOMS) {
    const oldest = rooms.keys().next().value;
    if (oldest !== undefined) rooms.delete(oldest);
  }
}

/** Forgets every sender (a test starts from a cold sandbox). */
export function forgetSenderRooms(): void {
  rooms.clear();
}
