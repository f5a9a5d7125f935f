/**
 * The chat page's delivery logic in headless Chromium against the local runtime with fault
 * injection (local/src/faults/faults.ts): a message whose confirmation is lost is sent again with the same
 * clientId and stored once, and a page that missed a message live sees the gap in `prevId` and
 * fetches it from history at once, before any redelivery.
 */
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { WebSocket } from 'ws';
import { MANAGEMENT_MAX_ATTEMPTS } from '../../layers/chat-core/src/platform/aws';
import { type LocalRuntime, startLocalRuntime } from '../../local/src/index';
import { buildChatPage } from '../../web/build';
import {
  DESKTOP,
  WAIT_MS,
  chatUrl,
  eventually,
  launchBrowser,
  messageTexts,
  send,
  uniqueRoom,
  waitForMessage,
  waitSynced,
} from './helpers';

/** Fails every post for good: 429 on each of the SDK's three attempts. */
const POSTS_FAIL = { seed: 1, post: { throttle: 1, attempts: 3 } };

describe('chat page delivery: clientId resends and gap recovery (headless Chromium, local runtime with faults)', function () {
  this.timeout(90_000);

  let runtime: LocalRuntime;
  let browser: Browser;
  let contexts: BrowserContext[] = [];

  before(async () => {
    runtime = await startLocalRuntime({ port: 0, dynamodbPort: 0, quiet: true, page: buildChatPage });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await runtime?.close();
  });

  afterEach(async () => {
    runtime.faults.set({});
    await Promise.all(contexts.map((context) => context.close()));
    contexts = [];
  });

  /** Opens the page, joined and caught up, keeping every frame it sends. */
  async function join(room: string, name: string): Promise<{ page: Page; sent: Record<string, unknown>[] }> {
    const context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US', timezoneId: 'UTC' });
    contexts.push(context);
    const page = await context.newPage();
    const sent: Record<string, unknown>[] = [];
    page.on('websocket', (ws) => ws.on('framesent', ({ payload }) => sent.push(JSON.parse(String(payload)) as Record<string, unknown>)));
    await page.goto(chatUrl(runtime, { room, name }), { timeout: WAIT_MS });
    await waitSynced(page);
    return { page, sent };
  }

  it('sends a message again with the same clientId when its confirmation does not come, and it is stored once', async () => {
    const room = uniqueRoom('resend');
    const ada = await join(room, 'Ada');
    runtime.faults.set(POSTS_FAIL);
    await send(ada.page, 'confirmed at last');
    // Past the page's confirmation timeout, it has sent the message again by itself.
    const sends = (): Record<string, unknown>[] => ada.sent.filter((f) => f.action === 'sendmessage');
    await eventually(async () => expect(sends().length).to.be.at.least(2), 25_000);
    runtime.faults.set({});

    await ada.page.getByTestId('pending').waitFor({ state: 'detached', timeout: 20_000 });
    const clientIds = new Set(sends().map((f) => f.clientId));
    expect(clientIds.size, 'every send of it has one clientId').to.equal(1);
    expect([...clientIds][0]).to.match(/^[A-Za-z0-9_-]{1,64}$/);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await messageTexts(ada.page), 'shown once').to.deep.equal(['confirmed at last']);
    const cy = await join(room, 'Cy');
    expect(await messageTexts(cy.page), 'stored once (history)').to.deep.equal(['confirmed at last']);
  });

  it('sees the gap when a live message names one it missed (prevId), and fetches it from history at once', async () => {
    const room = uniqueRoom('gap');
    const ada = await join(room, 'Ada');
    const bob = await join(room, 'Bob');
    await send(ada.page, 'first');
    await waitForMessage(bob.page, 'first');

    // The bot joins first, and its (coalesced) join notice is out before the faults: only the
    // message's posts may fail below.
    const url = new URL(runtime.wsUrl);
    url.searchParams.set('room', room);
    url.searchParams.set('name', 'bot');
    const bot = new WebSocket(url, 'chat.v1');
    await new Promise((resolve, reject) => bot.once('open', resolve).once('error', reject));
    await ada.page.getByTestId('notice').filter({ hasText: 'bot joined' }).waitFor({ timeout: WAIT_MS });
    await bob.page.getByTestId('notice').filter({ hasText: 'bot joined' }).waitFor({ timeout: WAIT_MS });

    // A bot's message that reaches nobody live: every post fails, its first redelivery (2 s later) too.
    runtime.faults.set(POSTS_FAIL);
    runtime.faults.resetStats();
    bot.send(JSON.stringify({ action: 'sendmessage', message: 'missed live' }));
    // Its three posts (the bot's confirmation, Ada, Bob) fail, and then FanoutFunction's first
    // redeliveries of them: the faults are lifted only once every attempt of those has failed
    // (a retry let through would deliver the message live).
    await eventually(async () => {
      expect(runtime.faults.stats().post.injectedBy.FanoutFunction ?? 0).to.be.at.least(3 * MANAGEMENT_MAX_ATTEMPTS);
    }, 20_000);
    runtime.faults.set({});
    bot.close();

    const historyBefore = bob.sent.filter((f) => f.action === 'history').length;
    await send(ada.page, 'after the gap');
    await waitForMessage(bob.page, 'after the gap');
    // Well before the second redelivery (10 s after the first), from history.
    await waitForMessage(bob.page, 'missed live');
    const catchUp = bob.sent.filter((f) => f.action === 'history').slice(historyBefore);
    expect(catchUp.length, 'a history request after the gap').to.be.at.least(1);
    expect(catchUp[0]).to.have.property('after').that.is.a('string');
    expect(await messageTexts(bob.page)).to.deep.equal(['first', 'missed live', 'after the gap']);
  });
});
