/**
 * Which messages are the page's own when nobody is signed in (AuthMode=none): those it sent.
 * A name proves nothing there (anyone may take any name), so the page remembers the ids of
 * the messages the server confirmed to it: a confirmation carries the clientId the page sent
 * it with, and only the sender receives it. The ids are kept per room in sessionStorage, so a
 * reload of the tab still knows its own messages and another tab (another sender) does not.
 */
const KEY_PREFIX = 'chat.own.';
/** Ids kept per room: the newest, more than history ever shows at once. */
const MAX_IDS = 1000;

export class OwnMessages {
  private readonly ids: Set<string>;
  private readonly key: string;

  constructor(room: string) {
    this.key = `${KEY_PREFIX}${room}`;
    this.ids = new Set(read(this.key));
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    if (this.ids.has(id)) return;
    this.ids.add(id);
    // Ids are ULIDs, so the oldest sorts first.
    const kept = [...this.ids].sort().slice(-MAX_IDS);
    if (kept.length < this.ids.size) {
      this.ids.clear();
      for (const keptId of kept) this.ids.add(keptId);
    }
    try {
      sessionStorage.setItem(this.key, JSON.stringify(kept));
    } catch {
      // Storage can be unavailable (private mode, file://): the page still knows them until it reloads.
    }
  }
}

function read(key: string): string[] {
  try {
    const value: unknown = JSON.parse(sessionStorage.getItem(key) ?? '[]');
    return Array.isArray(value) ? value.filter((id): id is string => typeof id === 'string') : [];
  } catch {
    return [];
  }
}
