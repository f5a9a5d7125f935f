/** The chat view: status, members, messages, the outbox of own messages, announcements. */
import { byId, el, hueOf, timeElement } from './dom';
import { REMOVED_TEXT, describeModeration, moderationControls, type ModerationAction } from './moderation';
import type { ChatMessage, Member, ModerationResult } from './protocol';
import type { ChatView, ConnectionState } from './chat-view';
import type { Pending } from './timeline';

const PENDING_LABEL: Record<Pending['status'], string> = {
  queued: 'Waiting for the connection…',
  sent: 'Sending…',
  failed: 'Not sent',
};

export class DomChatView implements ChatView {
  private readonly timeline = byId('timeline');
  private readonly list = byId<HTMLOListElement>('messages');
  private readonly outbox = byId<HTMLOListElement>('outbox');
  private readonly empty = byId('empty');
  private readonly status = byId('status');
  private readonly retryButton = byId<HTMLButtonElement>('retry-now');
  private readonly members = byId<HTMLUListElement>('members');
  private readonly membersCount = byId('members-count');
  private readonly loadOlder = byId<HTMLButtonElement>('load-older');
  private readonly announcer = byId('announcer');
  private readonly banned = byId('banned');
  private readonly bannedText = byId('banned-text');
  private readonly elements = new Map<string, HTMLElement>();

  /** `me`: the page's own name, and its userId when signed in (then people are told apart by it). */
  constructor(
    private readonly me: Member,
    private readonly actions: { retry(localId: string): void; moderate(action: ModerationAction): void },
  ) {}

  reset(): void {
    this.list.replaceChildren();
    this.outbox.replaceChildren();
    this.members.replaceChildren();
    this.membersCount.textContent = '';
    this.elements.clear();
    this.empty.hidden = false;
    this.loadOlder.hidden = true;
    this.banned.hidden = true;
    delete document.body.dataset.moderator;
  }

  setState(state: ConnectionState, detail: string): void {
    document.body.dataset.state = state;
    this.status.textContent = detail;
    this.status.dataset.state = state;
    this.retryButton.hidden = state !== 'disconnected' && state !== 'banned';
    this.retryButton.textContent = state === 'banned' ? 'Try again' : 'Retry now';
    // A ban is said where the conversation was, not only in the status line.
    this.banned.hidden = state !== 'banned';
    if (state === 'banned') this.bannedText.textContent = detail;
  }

  setSynced(synced: boolean): void {
    document.body.dataset.synced = String(synced);
  }

  showMessage(message: ChatMessage, { beforeId, own, live }: { beforeId: string | undefined; own: boolean; live: boolean }): void {
    const item = el(
      'li',
      {
        className: own ? 'message own' : 'message',
        attrs: { 'data-testid': 'message', 'data-id': message.id, ...(message.userId !== undefined && { 'data-user-id': message.userId }) },
      },
      el('span', { className: 'avatar', text: initial(message.name), attrs: { 'aria-hidden': 'true' } }),
      el(
        'div',
        { className: 'body' },
        el(
          'div',
          { className: 'meta' },
          el('span', { className: 'author', text: message.name, attrs: { 'data-testid': 'message-name' } }),
          ...(message.backend === true
            ? [
                el('span', {
                  className: 'badge',
                  text: 'bot',
                  attrs: { 'data-testid': 'bot-badge', title: "Sent by the stack's backend, not a person" },
                }),
              ]
            : []),
          timeElement(message.sentAt),
          ...(message.deleted === true ? [] : [moderationControls(message, own, (action) => this.actions.moderate(action))]),
        ),
        message.deleted === true
          ? removedText()
          : el('p', { className: 'text', text: message.text, attrs: { 'data-testid': 'message-text' } }),
      ),
    );
    if (message.deleted === true) item.classList.add('deleted');
    item.style.setProperty('--hue', String(hueOf(message.name)));
    const before = beforeId === undefined ? null : (this.elements.get(beforeId) ?? null);
    const prepending = before !== null && before === this.list.firstElementChild;
    this.keepScroll(own, prepending, () => this.list.insertBefore(item, before));
    this.elements.set(message.id, item);
    this.empty.hidden = true;
    if (live && !own && message.deleted !== true) this.announce(`${message.name}: ${message.text}`);
  }

  markDeleted(id: string): void {
    const item = this.elements.get(id);
    if (!item || item.classList.contains('deleted')) return;
    item.classList.add('deleted');
    item.querySelector('.moderation')?.remove();
    item.querySelector('.text')?.replaceWith(removedText());
    this.announce(REMOVED_TEXT);
  }

  setModerator(moderator: boolean): void {
    document.body.dataset.moderator = String(moderator);
  }

  showModeration(result: Exclude<ModerationResult, { op: 'check' }>): void {
    const nameOf = (userId: string): string =>
      [...this.elements.values()].find((item) => item.dataset.userId === userId)?.querySelector('.author')?.textContent ?? userId;
    const notice = this.showNotice('info', describeModeration(result, nameOf));
    if (result.op !== 'ban') return;
    const lift = el('button', { className: 'quiet small', text: 'Lift ban', attrs: { type: 'button', 'data-testid': 'unban-button' } });
    lift.addEventListener('click', () => {
      lift.disabled = true;
      this.actions.moderate({ op: 'unban', user: result.user });
    });
    notice.append(lift);
  }

  showPending(pending: Pending): void {
    const existing = this.outbox.querySelector<HTMLElement>(`[data-local-id="${pending.localId}"]`);
    const state = el('span', { className: 'pending-state', text: pending.error ?? PENDING_LABEL[pending.status] });
    const item = el(
      'li',
      {
        className: `message own pending ${pending.status}`,
        attrs: { 'data-testid': 'pending', 'data-local-id': pending.localId, 'data-status': pending.status },
      },
      el('span', { className: 'avatar', text: initial(this.me.name), attrs: { 'aria-hidden': 'true' } }),
      el(
        'div',
        { className: 'body' },
        el('div', { className: 'meta' }, el('span', { className: 'author', text: this.me.name }), state),
        el('p', { className: 'text', text: pending.text }),
      ),
    );
    item.style.setProperty('--hue', String(hueOf(this.me.name)));
    if (pending.status === 'failed') {
      const retry = el('button', { className: 'quiet small', text: 'Retry', attrs: { type: 'button' } });
      retry.addEventListener('click', () => this.actions.retry(pending.localId));
      state.after(retry);
      this.announce(`Not sent: ${pending.error ?? ''}`);
    }
    if (existing) existing.replaceWith(item);
    else this.keepScroll(true, false, () => this.outbox.append(item));
  }

  removePending(localId: string): void {
    this.outbox.querySelector(`[data-local-id="${localId}"]`)?.remove();
  }

  showNotice(kind: 'join' | 'leave' | 'error' | 'info', text: string): HTMLElement {
    const item = el(
      'li',
      { className: `notice ${kind}`, attrs: { 'data-testid': 'notice', 'data-kind': kind } },
      el('span', { text }),
      timeElement(new Date().toISOString()),
    );
    this.keepScroll(false, false, () => this.list.append(item));
    this.announce(text);
    return item;
  }

  /** One line per person: by userId when the server gives one (two people may share a name), else by name. */
  setMembers(members: Member[]): void {
    const key = (member: Member): string => (member.userId === undefined ? `name:${member.name}` : `user:${member.userId}`);
    const people = new Map<string, { member: Member; count: number }>();
    for (const member of members) {
      const seen = people.get(key(member));
      const connections = member.connections ?? 1;
      if (seen) seen.count += connections;
      else people.set(key(member), { member, count: connections });
    }
    const mine = key(this.me);
    const sorted = [...people.entries()].sort(([ka, a], [kb, b]) =>
      ka === mine ? -1 : kb === mine ? 1 : a.member.name.localeCompare(b.member.name, undefined, { sensitivity: 'base' }),
    );
    this.members.replaceChildren(
      ...sorted.map(([id, { member, count }]) => {
        const item = el(
          'li',
          {
            attrs: {
              'data-testid': 'member',
              'data-name': member.name,
              ...(member.userId !== undefined && { 'data-user-id': member.userId }),
            },
          },
          el('span', { className: 'dot', attrs: { 'aria-hidden': 'true' } }),
          el('span', { className: 'member-name', text: member.name }),
        );
        if (count > 1) item.append(el('span', { className: 'count', text: `×${count}` }));
        if (id === mine) item.append(el('span', { className: 'you', text: '(you)' }));
        item.style.setProperty('--hue', String(hueOf(member.name)));
        return item;
      }),
    );
    this.membersCount.textContent = String(people.size);
  }

  setHasOlder(hasOlder: boolean): void {
    this.loadOlder.hidden = !hasOlder;
  }

  private announce(text: string): void {
    this.announcer.textContent = text;
  }

  /** Runs a change, then sticks to the bottom if the reader was there (or `follow`), or keeps their place. */
  private keepScroll(follow: boolean, prepending: boolean, change: () => void): void {
    const { scrollHeight, scrollTop, clientHeight } = this.timeline;
    const atBottom = scrollHeight - scrollTop - clientHeight < 80;
    change();
    if (prepending && !atBottom) this.timeline.scrollTop = scrollTop + (this.timeline.scrollHeight - scrollHeight);
    else if (follow || atBottom) this.timeline.scrollTop = this.timeline.scrollHeight;
  }
}

function removedText(): HTMLElement {
  return el('p', { className: 'text removed', text: REMOVED_TEXT, attrs: { 'data-testid': 'message-text' } });
}

function initial(name: string): string {
  return ([...name.trim()][0] ?? '?').toUpperCase();
}
