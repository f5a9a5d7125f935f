/**
 * The moderator's side of the page: a delete control on every message and a ban control on a
 * person's, and the words for what an action did. The controls are drawn on every message and
 * shown by CSS only while the server says this person moderates (body[data-moderator="true"]):
 * the server decides (it answers anyone else's action with `forbidden`), the page only hides
 * what would be refused.
 */
import { el } from './dom';
import type { ChatMessage, ModerateRequest, ModerationResult } from './protocol';

export type ModerationAction = Exclude<ModerateRequest, { op: 'check' }>;

/** The ban lengths offered, as the `moderate` action's `for`; '' lasts until lifted. */
const BAN_LENGTHS: [string, string][] = [
  ['10m', '10 minutes'],
  ['1h', '1 hour'],
  ['1d', '1 day'],
  ['', 'until lifted'],
];

export const REMOVED_TEXT = 'Message removed by a moderator';

/** Delete for every message; ban too for a person's message (one with a userId) that is not the page's own. */
export function moderationControls(message: ChatMessage, own: boolean, act: (action: ModerationAction) => void): HTMLElement {
  const controls = el('span', { className: 'moderation', attrs: { 'data-testid': 'moderation' } });
  const remove = el('button', {
    className: 'quiet small',
    text: 'Delete',
    attrs: { type: 'button', 'data-testid': 'delete-button', title: 'Remove this message for everyone' },
  });
  remove.addEventListener('click', () => act({ op: 'delete', id: message.id }));
  controls.append(remove);
  const { userId } = message;
  if (userId === undefined || own || message.backend === true) return controls;
  const length = el('select', { attrs: { 'data-testid': 'ban-length', 'aria-label': `Ban ${message.name} for` } });
  length.append(...BAN_LENGTHS.map(([value, label]) => el('option', { text: label, attrs: { value } })));
  const ban = el('button', {
    className: 'quiet small',
    text: 'Ban',
    attrs: { type: 'button', 'data-testid': 'ban-button', title: `Close ${message.name}'s connections here and keep them out` },
  });
  ban.addEventListener('click', () => act({ op: 'ban', user: userId, ...(length.value !== '' && { for: length.value }) }));
  controls.append(length, ban);
  return controls;
}

/** What a moderation action of the page's did, in words; `nameOf` finds a person's name by userId. */
export function describeModeration(result: Exclude<ModerationResult, { op: 'check' }>, nameOf: (userId: string) => string): string {
  switch (result.op) {
    case 'delete':
      return 'You removed a message for everyone.';
    case 'ban': {
      const until = result.until === null ? 'until the ban is lifted' : `until ${new Date(result.until).toLocaleString()}`;
      const closed = result.closed === 1 ? '1 connection closed' : `${result.closed} connections closed`;
      return `You banned ${nameOf(result.user)} from #${result.room} ${until} (${closed}).`;
    }
    case 'unban':
      return `You lifted the ban on ${nameOf(result.user)} in #${result.room}.`;
  }
}
