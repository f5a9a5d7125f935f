/** What a visit to a room (session.ts) needs drawn, and nothing of how: view.ts draws it in the DOM. */
import type { ChatMessage, Member, ModerationResult } from './protocol';
import type { Pending } from './timeline';

/** `banned`: a moderator banned this person from the room; the page does not reconnect by itself. */
export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'banned';

export interface ChatView {
  setState(state: ConnectionState, detail: string): void;
  setSynced(synced: boolean): void;
  showMessage(message: ChatMessage, options: { beforeId: string | undefined; own: boolean; live: boolean }): void;
  showPending(item: Pending): void;
  removePending(localId: string): void;
  showNotice(kind: 'join' | 'leave' | 'error' | 'info', text: string): void;
  setMembers(members: Member[]): void;
  setHasOlder(hasOlder: boolean): void;
  /** Whether this person may delete and ban here (the server's answer to `moderate` `check`). */
  setModerator(moderator: boolean): void;
  /** A message a moderator removed: its text is gone for everyone. */
  markDeleted(id: string): void;
  /** What a moderation action of this page's did. */
  showModeration(result: Exclude<ModerationResult, { op: 'check' }>): void;
}
