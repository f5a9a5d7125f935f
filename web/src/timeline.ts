/**
 * The messages the page holds: unique by id, kept in id order (ULIDs sort by time),
 * plus the send queue of the page's own messages awaiting their echo.
 */
import type { ChatMessage } from './protocol';
import { ulidTime } from './protocol';

export class Timeline {
  private readonly byId = new Map<string, ChatMessage>();
  private readonly ids: string[] = [];
  /** Whether the page holds the room from its first message (history said there is no more). */
  private fromBeginning = false;
  /** Ids a moderator removed: a copy of one that comes later (a catch-up) is removed too. */
  private readonly removed = new Set<string>();

  /** History has nothing older: a missing prevId below the oldest held is a gap too. */
  holdsFromBeginning(): void {
    this.fromBeginning = true;
  }

  get heldFromBeginning(): boolean {
    return this.fromBeginning;
  }

  get size(): number {
    return this.ids.length;
  }

  get oldestId(): string | undefined {
    return this.ids[0];
  }

  get newestId(): string | undefined {
    return this.ids[this.ids.length - 1];
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** A moderator removed the message: its text is gone for good. Whether it is held. */
  remove(id: string): boolean {
    this.removed.add(id);
    const held = this.byId.get(id);
    if (held) this.byId.set(id, { ...held, text: '', deleted: true });
    return held !== undefined;
  }

  /** The message as the page keeps it: without its text if a moderator removed it. */
  asKept<M extends ChatMessage>(message: M): M {
    return this.removed.has(message.id) ? { ...message, text: '', deleted: true } : message;
  }

  /**
   * Adds a message; returns the id it must be shown before (undefined: at the end),
   * or false when the message is already held.
   */
  add(message: ChatMessage): string | undefined | false {
    if (this.byId.has(message.id)) return false;
    this.byId.set(message.id, message);
    let low = 0;
    let high = this.ids.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.ids[middle] as string) < message.id) low = middle + 1;
      else high = middle;
    }
    this.ids.splice(low, 0, message.id);
    return this.ids[low + 1];
  }

  /**
   * The first message held whose previous message in the room (`prevId`) is not held, though
   * it is newer than the oldest held (older ones are earlier history, not a gap) or the page
   * holds the room from its beginning: the page missed that one. `settled` are prevIds already
   * looked for in history and not found there.
   */
  firstGap(settled: ReadonlySet<string>): ChatMessage | undefined {
    const oldest = this.oldestId;
    if (oldest === undefined) return undefined;
    const floor = this.fromBeginning ? '' : oldest;
    for (const id of this.ids) {
      const { prevId } = this.byId.get(id) as ChatMessage;
      if (prevId !== undefined && prevId > floor && !this.byId.has(prevId) && !settled.has(prevId)) return this.byId.get(id);
    }
    return undefined;
  }

  /** The newest id held before `id` (ids sort by time). */
  idBeforeId(id: string): string | undefined {
    let found: string | undefined;
    for (const held of this.ids) {
      if (held >= id) break;
      found = held;
    }
    return found;
  }

  /**
   * The newest id held that is at least `marginMs` older than the newest message: a
   * point safely before anything whose delivery a drop might have cut short.
   */
  idBefore(marginMs: number): string | undefined {
    const newest = this.newestId;
    const newestTime = newest === undefined ? null : ulidTime(newest);
    if (newestTime === null) return newest;
    for (let i = this.ids.length - 1; i >= 0; i -= 1) {
      const time = ulidTime(this.ids[i] as string);
      if (time !== null && time <= newestTime - marginMs) return this.ids[i];
    }
    return undefined;
  }
}

export type PendingStatus = 'queued' | 'sent' | 'failed';

export interface Pending {
  localId: string;
  /** The id the message is sent with, every time: the server stores it once however often it is sent. */
  clientId: string;
  text: string;
  status: PendingStatus;
  error?: string;
  /** The connection (counted from 1) it was last sent on. */
  connection?: number;
  /** How many times it was sent. */
  sends: number;
  /** `sends` when the person last chose Retry: the page resends by itself MAX_SENDS times from there. */
  retriedAt?: number;
  createdAt: number;
}

export class Outbox {
  private items: Pending[] = [];
  private counter = 0;

  add(text: string, clientId: string): Pending {
    this.counter += 1;
    const item: Pending = { localId: `local-${this.counter}`, clientId, text, status: 'queued', sends: 0, createdAt: Date.now() };
    this.items.push(item);
    return item;
  }

  get(localId: string): Pending | undefined {
    return this.items.find((item) => item.localId === localId);
  }

  /**
   * Removes and returns the item a message of the page's own confirms: by its clientId (the
   * server's confirmation), else (a message of the page's found in history) the oldest sent with its text.
   */
  confirm(message: { text: string; clientId?: string }): Pending | undefined {
    const { clientId } = message;
    const index = this.items.findIndex((item) =>
      clientId === undefined ? item.sends > 0 && item.text === message.text : item.clientId === clientId,
    );
    if (index < 0) return undefined;
    return this.items.splice(index, 1)[0];
  }

  with(status: PendingStatus): Pending[] {
    return this.items.filter((item) => item.status === status);
  }
}
