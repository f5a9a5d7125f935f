/**
 * The messages the page holds: unique by id, kept in id order (ULIDs sort by time),
 * plus the send queue of the page's own messages awaiting their echo.
 */
import type { ChatMessage } from './protocol';
import { ulidTime } from './protocol';

export class Timeline {
  private readonly byId = new Map<string, ChatMessage>();
  private readonly ids: string[] = [];

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
  text: string;
  status: PendingStatus;
  error?: string;
  /** The connection (counted from 1) it was last sent on. */
  connection?: number;
  /** How many times it was sent. */
  sends: number;
  createdAt: number;
}

export class Outbox {
  private items: Pending[] = [];
  private counter = 0;

  add(text: string): Pending {
    this.counter += 1;
    const item: Pending = { localId: `local-${this.counter}`, text, status: 'queued', sends: 0, createdAt: Date.now() };
    this.items.push(item);
    return item;
  }

  get(localId: string): Pending | undefined {
    return this.items.find((item) => item.localId === localId);
  }

  /** Removes and returns the oldest item with this text: the echo confirms it. */
  confirm(text: string): Pending | undefined {
    const index = this.items.findIndex((item) => item.text === text);
    if (index < 0) return undefined;
    return this.items.splice(index, 1)[0];
  }

  with(status: PendingStatus): Pending[] {
    return this.items.filter((item) => item.status === status);
  }
}
