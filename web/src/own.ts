/**
 * Which messages are the page's own when nobody is signed in (AuthMode=none): those it sent.
 * A name proves nothing there (anyone may take any name), so the page remembers the ids of
 * the messages the server confirmed to it: a confirmation carries the clientId the page sent
 * it with, and only the sender receives it. The ids are kept per room in sessionStorage, so a
 * reload of the tab still knows its own messages and another tab (another sender) does not.
 */
import type { ChatMessage } from './protocol';

const KEY_PREFIX = 'chat.own.';
/** Ids kept per room: the newest, more than history ever shows at once. */
const MAX_IDS = 1000;

/**
 * Which messages the page draws as its own. Signed in, by the sender's userId (the token's
 * subject: two people may share a name). Without sign-in, by what this page sent: a
 * confirmation (the message with the clientId it was sent with, which only its sender
 * receives), or a message whose id an earlier confirmation gave. A backend's message is
 * nobody's, whatever name it goes by.
 */
export class Ownership {
  /** Without sign-in, the ids of the messages this page sent. */
  private readonly sent: OwnMessages | undefined;

  constructor(
    room: string,
    private readonly userId: string | undefined,
  ) {
    this.sent = userId === undefined ? new OwnMessages(room) : undefined;
  }

  /** Whether the message is the page's own; `confirmed`: it settled one of the page's pending messages. */
  isOwn(message: ChatMessage & { clientId?: string }, confirmed: boolean): boolean {
    if (message.backend === true) return false;
    if (!this.sent) return message.userId === this.userId;
    const own = confirmed || message.clientId !== undefined || this.sent.has(message.id);
    if (own) this.sent.add(message.id);
    return own;
  }

  /**
   * Whether a message found in history (no clientId: its confirmation was lost with the
   * connection) may settle a pending message of the same text: its userId signed in, its
   * name without sign-in. That is the one case a name is trusted: without it, the page
   * would send the message again and store it twice.
   */
  maySettle(message: ChatMessage, name: string): boolean {
    if (message.backend === true) return false;
    return this.sent ? message.name === name : message.userId === this.userId;
  }
}

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
