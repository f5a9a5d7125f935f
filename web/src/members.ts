/**
 * The room's members as the page knows them: a listing read page by page from `members`
 * (on connect, and when a presence frame says it left some changes out), kept up to date by
 * the joins and leaves of `presence` frames, so that nobody's page asks the server again at
 * every join and leave. Each person is counted by connections: two tabs are one person until
 * both have left.
 *
 * A listing and the presence frames that follow it can overlap: a join made just before the
 * listing was read may be announced just after it (the server coalesces presence for about a
 * second). A presence frame that soon after a listing therefore asks for one fresh listing
 * (`overlapsListing`), once: a bounded cost per connect, none per join or leave.
 */
import type { Member, PresenceChange } from './protocol';

const personKey = (member: { name: string; userId?: string }): string =>
  member.userId === undefined ? `name:${member.name}` : `user:${member.userId}`;

/** How long after a listing a presence frame may still describe changes the listing saw. */
export const LISTING_OVERLAP_MS = 3_000;

export class MemberList {
  private people = new Map<string, Member & { connections: number }>();
  private draft: Map<string, Member & { connections: number }> | undefined;
  private listedAt = -Infinity;
  private rechecked = false;

  /** `me`: the page's own person, who stays listed while the page is connected. */
  constructor(private readonly me: () => { name: string; userId?: string }) {}

  /** Adds a page of a listing; true when it was the last (the list is then replaced by it). */
  addPage(members: Member[], hasMore: boolean): boolean {
    const draft = (this.draft ??= new Map());
    for (const member of members) {
      const seen = draft.get(personKey(member));
      const connections = member.connections ?? 1;
      if (seen) seen.connections += connections;
      else draft.set(personKey(member), { ...member, connections });
    }
    if (hasMore) return false;
    this.people = draft;
    this.draft = undefined;
    this.listedAt = Date.now();
    return true;
  }

  /** True (once per listing) when a presence frame comes so soon after the listing that it may overlap it. */
  overlapsListing(now = Date.now()): boolean {
    if (this.rechecked || now - this.listedAt > LISTING_OVERLAP_MS) return false;
    this.rechecked = true;
    return true;
  }

  /** A listing is being read: pages from now on build the new list. `recheck`: it is the one a presence frame asked for. */
  startListing(recheck = false): void {
    this.draft = new Map();
    this.rechecked = recheck;
  }

  apply(change: PresenceChange): void {
    const key = personKey(change);
    const seen = this.people.get(key);
    if (change.event === 'join') {
      if (seen) seen.connections += 1;
      else this.people.set(key, { name: change.name, ...(change.userId !== undefined && { userId: change.userId }), connections: 1 });
    } else if (seen) {
      seen.connections -= 1;
      // The page's own earlier connection may leave after the listing no longer counted it.
      if (seen.connections <= 0 && key !== personKey(this.me())) this.people.delete(key);
      seen.connections = Math.max(1, seen.connections);
    }
  }

  list(): Member[] {
    return [...this.people.values()];
  }
}

/**
 * What a batch of changes tells people: each person's joins and leaves net out, so a
 * reconnect (a leave and a join) says nothing, and a person is named once.
 */
export function noticesOf(changes: PresenceChange[]): { event: 'join' | 'leave'; name: string }[] {
  const net = new Map<string, { name: string; count: number }>();
  for (const change of changes) {
    const entry = net.get(personKey(change)) ?? { name: change.name, count: 0 };
    entry.count += change.event === 'join' ? 1 : -1;
    net.set(personKey(change), entry);
  }
  return [...net.values()].filter(({ count }) => count !== 0).map(({ name, count }) => ({ event: count > 0 ? 'join' : 'leave', name }));
}
