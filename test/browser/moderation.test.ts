/**
 * Moderation and the backend's messages on the chat page (web/src/moderation.ts), in headless
 * Chromium against the local runtime with AuthMode=cognito: a moderator (a local sign-in with
 * `?groups=moderators`) deletes and bans from the page, everyone sees the removal, the banned
 * person is told why and stays out until the ban is lifted, and a message `npm run publish`
 * sends shows as the backend's, never as someone's own.
 */
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { runBackendCommand } from '../../scripts/backend-client';
import { PUBLISH } from '../../scripts/publish';
import { WAIT_MS, chatUrl, eventually, memberNames, message, send, uniqueRoom, waitForMessage, waitSynced } from './helpers';
import { signedInChat } from './signed-in';

/** What a removed message says, on every page. */
const REMOVED_TEXT = 'Message removed by a moderator';

describe('chat page moderation (AuthMode=cognito, headless Chromium)', function () {
  this.timeout(60_000);
  const chat = signedInChat();

  /** A page signed in through the local issuer as `name`, in `room`; `groups=moderators` makes a moderator. */
  async function join(room: string, name: string, params: Record<string, string> = {}): Promise<Page> {
    const page = await chat.newPage();
    await page.goto(chatUrl(chat.runtime, { room, name, ...params }), {
      timeout: WAIT_MS,
    });
    await waitSynced(page);
    return page;
  }

  const moderatorFlag = (page: Page, value: 'true' | 'false') =>
    page.locator(`body[data-moderator="${value}"]`).waitFor({ state: 'attached', timeout: WAIT_MS });

  it('lets a moderator delete a message: every page shows it removed, also after a reload; only moderators see the controls', async () => {
    const room = uniqueRoom('delete');
    const mo = await join(room, 'Mo', { groups: 'moderators' });
    const eve = await join(room, 'Eve');
    await moderatorFlag(mo, 'true');
    await moderatorFlag(eve, 'false');

    await send(eve, 'words to regret');
    const atMo = await waitForMessage(mo, 'words to regret');
    const atEve = await waitForMessage(eve, 'words to regret');
    const id = await atMo.getAttribute('data-id');
    expect(await atEve.getByTestId('delete-button').isVisible(), 'a delete control for someone who does not moderate').to.equal(false);
    expect(await atMo.getByTestId('ban-button').isVisible(), "a ban control on another person's message").to.equal(true);

    await atMo.getByTestId('delete-button').click();
    for (const page of [mo, eve]) {
      const removed = page.locator(`[data-testid="message"][data-id="${id}"]`);
      await removed.getByText(REMOVED_TEXT).waitFor({ timeout: WAIT_MS });
      expect(await removed.getAttribute('class')).to.include('deleted');
      expect(await page.getByTestId('messages').textContent()).to.not.include('words to regret');
    }
    await mo.getByTestId('notice').filter({ hasText: 'You removed a message for everyone.' }).waitFor({ timeout: WAIT_MS });
    expect(await mo.locator(`[data-id="${id}"]`).getByTestId('delete-button').count(), 'controls on a removed message').to.equal(0);

    await eve.reload();
    await waitSynced(eve);
    await eve.locator(`[data-testid="message"][data-id="${id}"]`).getByText(REMOVED_TEXT).waitFor({ timeout: WAIT_MS });
    expect(await eve.getByTestId('messages').textContent()).to.not.include('words to regret');
  });

  it('lets a moderator ban someone: their page says why and stays out, and is let back once the ban is lifted', async () => {
    const room = uniqueRoom('ban');
    const mo = await join(room, 'Mo', { groups: 'moderators' });
    const eve = await join(room, 'Eve');
    const sockets: string[] = [];
    eve.on('websocket', (socket) => sockets.push(socket.url()));
    await moderatorFlag(mo, 'true');

    await send(eve, 'spam spam spam');
    const atMo = await waitForMessage(mo, 'spam spam spam');
    await atMo.getByTestId('ban-length').selectOption('10m');
    await atMo.getByTestId('ban-button').click();

    await eve.getByTestId('banned').waitFor({ timeout: WAIT_MS });
    expect(await eve.getByTestId('banned-text').textContent()).to.match(
      new RegExp(`^You are banned from room ${room} by a moderator until \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\.$`),
    );
    await eve.locator('body[data-state="banned"]').waitFor({ state: 'attached', timeout: WAIT_MS });
    await mo
      .getByTestId('notice')
      .filter({ hasText: new RegExp(`You banned Eve from #${room} until .* \\(1 connection closed\\)`) })
      .waitFor({ timeout: WAIT_MS });
    await eventually(async () => expect(await memberNames(mo)).to.deep.equal(['Mo']));
    // The page stays out by itself: its reconnects (from 0.5 s on) would be refused while the ban lasts.
    await eve.waitForTimeout(2000);
    expect(sockets, 'connections the banned page opened').to.deep.equal([]);

    // Asked to, it tries once more, and is refused.
    await eve.getByTestId('retry-button').click();
    await eve.locator('body[data-state="disconnected"]').waitFor({ state: 'attached', timeout: WAIT_MS });
    expect(sockets).to.have.length.of.at.least(1);

    await mo.getByTestId('unban-button').click();
    await mo
      .getByTestId('notice')
      .filter({ hasText: `You lifted the ban on Eve in #${room}.` })
      .waitFor({ timeout: WAIT_MS });
    await eventually(async () => {
      await eve.getByTestId('retry-button').click({ timeout: 1000 });
      await waitSynced(eve);
    });
    expect(await eve.getByTestId('banned').isVisible()).to.equal(false);
    await send(eve, 'sorry, I will behave');
    await waitForMessage(mo, 'sorry, I will behave');
  });

  it("shows a backend's message (npm run publish) as the backend's: a bot badge, nobody's own, even under the page's name", async () => {
    const room = uniqueRoom('bot');
    const mo = await join(room, 'Mo', { groups: 'moderators' });
    await moderatorFlag(mo, 'true');
    const backend = chat.runtime.httpApis.find((api) => api.logicalId === 'BackendApi')?.url ?? '';
    let err = '';
    const code = await runBackendCommand(
      PUBLISH,
      ['--room', room, '--text', 'Your order has shipped', '--name', 'Mo', '--local', '--url', backend],
      {
        stdout: () => undefined,
        stderr: (text) => (err += text),
      },
    );
    expect(code, err).to.equal(0);

    const published = await waitForMessage(mo, 'Your order has shipped');
    expect(await published.getByTestId('message-name').textContent()).to.equal('Mo');
    expect(await published.getByTestId('bot-badge').textContent()).to.equal('bot');
    expect(await published.getAttribute('class')).to.not.include('own');
    expect(await published.getByTestId('delete-button').isVisible(), 'a moderator may delete it').to.equal(true);
    expect(await published.getByTestId('ban-button').count(), 'no person to ban').to.equal(0);

    await send(mo, 'a person, signed in');
    const own = await waitForMessage(mo, 'a person, signed in');
    expect(await own.getAttribute('class')).to.include('own');
    expect(await own.getByTestId('bot-badge').count()).to.equal(0);
    expect(await message(mo, 'Your order has shipped').count()).to.equal(1);
  });
});
