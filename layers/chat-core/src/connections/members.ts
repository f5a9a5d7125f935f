import { roomConnections } from './connections';
import type { Frame, Member } from '../wire/wire';
import { encodeMembersCursor } from '../wire/protocol';

/**
 * Bytes of member entries one `members` frame carries at most: with its envelope it stays
 * far below API Gateway's 128 KB post limit, and within the 32 KB of a client's own frames,
 * whatever the names (32 emoji are 128 bytes) and user ids.
 */
export const MEMBERS_PAGE_BYTES = 24 * 1024;
/** Connections one page reads at most (people with many connections take no room in a page). */
export const MEMBERS_PAGE_CONNECTIONS = 1000;
/** Connections per DynamoDB query: a full page is reached with little read past it. */
const QUERY_PAGE_SIZE = 100;

/** Room for the `connections` count an entry may gain after it is measured. */
const COUNT_BYTES = '"connections":1000,'.length;

const personKey = (member: Member): string => (member.userId === undefined ? `name:${member.name}` : `user:${member.userId}`);

/**
 * One page of a room's members, after the connection id `after` (from the previous page's
 * cursor). Each person is listed once per page, by user id when the stack authenticates
 * (two people with one name stay apart), else by name, with `connections` when the page
 * counts more than one of theirs. The room is read in small queries, and reading stops as
 * soon as the page is full: a members request never reads the whole of a large room.
 */
export async function membersPage(room: string, after?: string): Promise<Extract<Frame, { type: 'members' }>> {
  const people = new Map<string, Member>();
  let bytes = 0;
  let read = 0;
  let last: string | undefined;
  let full = false;
  for await (const page of roomConnections(room, QUERY_PAGE_SIZE, after)) {
    for (const { connectionId, name, userId } of page) {
      const member: Member = userId === undefined ? { name } : { name, userId };
      const seen = people.get(personKey(member));
      const size = seen === undefined ? Buffer.byteLength(JSON.stringify(member), 'utf8') + 1 + COUNT_BYTES : 0;
      if (read === MEMBERS_PAGE_CONNECTIONS || bytes + size > MEMBERS_PAGE_BYTES) {
        full = true;
        break;
      }
      if (seen === undefined) people.set(personKey(member), member);
      else seen.connections = (seen.connections ?? 1) + 1;
      bytes += size;
      read += 1;
      last = connectionId;
    }
    if (full) break;
  }
  const next = full && last !== undefined ? encodeMembersCursor(last) : undefined;
  return { type: 'members', room, members: [...people.values()], hasMore: next !== undefined, ...(next !== undefined && { next }) };
}
