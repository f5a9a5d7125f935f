/**
 * The chat page in real headless Chromium, against a chat server (see ./chat-server.ts):
 * two pages talk, rooms are isolated, text is never HTML, and a page that drops,
 * goes offline or reloads catches up from history without duplicates.
 */
import { expect } from 'chai';
import type { Browser, BrowserContext } from 'playwright-core';
import { WebSocket } from 'ws';
import { startChatServer, type ChatServer } from './chat-server';
import {
  PHONE,
  WAIT_MS,
  chatUrl,
  eventually,
  launchBrowser,
  memberNames,
  message,
  messageIds,
  messageTexts,
  openChat,
  postFromBots,
  send,
  uniqueRoom,
  waitForMessage,
  waitSynced,
} from './helpers';

describe('chat page (headless Chromium)', function () {
  this.timeout(30_000);

  let server: ChatServer;
  let browser: Browser;
  let contexts: BrowserContext[] = [];

  before(async () => {
    server = await startChatServer();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  afterEach(async () => {
    await Promise.all(contexts.map((context) => context.close()));
    contexts = [];
  });

  async function join(room: string, name: string, viewport?: { width: number; height: number }) {
    const opened = await openChat(browser, server, room, name, viewport);
    contexts.push(opened.context);
    return opened.page;
  }

  it('lets two pages in one room talk, with names, times, members and presence', async () => {
    const room = uniqueRoom('talk');
    const ada = await join(room, 'Ada');
    const bob = await join(room, 'Bob');

    await send(ada, 'hello, everyone!');
    const atBob = await waitForMessage(bob, 'hello, everyone!');
    expect(await atBob.getByTestId('message-name').textContent()).to.equal('Ada');
    expect(await atBob.locator('time').getAttribute('datetime')).to.match(/^\d{4}-\d\d-\d\dT/);
    // The sender's own echo replaces its pending line and carries the server's id.
    const atAda = await waitForMessage(ada, 'hello, everyone!');
    expect(await atAda.getAttribute('data-id')).to.match(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    await ada.getByTestId('pending').waitFor({ state: 'detached', timeout: WAIT_MS });

    // Shift+Enter is a new line, Enter sends.
    const input = bob.getByTestId('message-input');
    await input.pressSequentially('first line');
    await input.press('Shift+Enter');
    await input.pressSequentially('second line');
    await input.press('Enter');
    await waitForMessage(ada, 'first line\nsecond line');
    expect(await input.inputValue()).to.equal('');

    await ada.getByTestId('notice').filter({ hasText: 'Bob joined' }).waitFor({ timeout: WAIT_MS });
    await eventually(async () => expect((await memberNames(ada)).sort()).to.deep.equal(['Ada', 'Bob']));
    await eventually(async () => expect((await memberNames(bob)).sort()).to.deep.equal(['Ada', 'Bob']));

    await bob.close();
    await ada.getByTestId('notice').filter({ hasText: 'Bob left' }).waitFor({ timeout: WAIT_MS });
    await eventually(async () => expect(await memberNames(ada)).to.deep.equal(['Ada']));
  });

  it('keeps its member list from presence frames: 20 reconnects of another client cost no members requests', async () => {
    const room = uniqueRoom('roam');
    // The page, with every members request it sends counted.
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    const membersRequests: string[] = [];
    page.on('websocket', (socket) =>
      socket.on('framesent', ({ payload }) => {
        if (typeof payload === 'string' && payload.includes('"members"')) membersRequests.push(payload);
      }),
    );
    await page.goto(chatUrl(server, { room, name: 'Ada' }), { timeout: WAIT_MS });
    await waitSynced(page);
    expect(membersRequests, 'the listing on connect').to.have.length(1);

    const roamerUrl = `${server.wsUrl}?room=${room}&name=roamer`;
    let roamer: WebSocket | undefined;
    for (let i = 0; i < 20; i += 1) {
      if (roamer) await new Promise((resolve) => roamer?.once('close', resolve).close());
      const next = new WebSocket(roamerUrl, 'chat.v1');
      await new Promise((resolve, reject) => next.once('open', resolve).once('error', reject));
      roamer = next;
    }
    await eventually(async () => expect((await memberNames(page)).sort()).to.deep.equal(['Ada', 'roamer']), 15_000);
    await page.getByTestId('notice').filter({ hasText: 'roamer joined' }).first().waitFor({ timeout: WAIT_MS });
    // At most the one recheck of a presence frame that overlaps the page's own listing (web/src/members.ts).
    expect(membersRequests.length, membersRequests.join('\n')).to.be.at.most(2);
    roamer?.close();
  });

  it('shows nothing of one room in another', async () => {
    const room = uniqueRoom('here');
    const elsewhere = uniqueRoom('there');
    const ada = await join(room, 'Ada');
    const bob = await join(room, 'Bob');
    const cy = await join(elsewhere, 'Cy');

    await send(ada, 'for this room only');
    await waitForMessage(bob, 'for this room only');
    await send(cy, 'barrier in the other room');
    await waitForMessage(cy, 'barrier in the other room');
    await send(ada, 'second barrier');
    await waitForMessage(bob, 'second barrier');

    expect(await messageTexts(cy)).to.deep.equal(['barrier in the other room']);
    expect(await cy.getByTestId('notice').count()).to.equal(0);
    expect(await memberNames(cy)).to.deep.equal(['Cy']);
    expect(await messageTexts(bob)).to.deep.equal(['for this room only', 'second barrier']);
    expect(await memberNames(bob)).to.not.include('Cy');
  });

  it('shows message text and names as text, never as HTML', async () => {
    const room = uniqueRoom('html');
    const payload = '<img src=x onerror="window.__pwned=1"><b>bold</b> & <script>window.__pwned=2</script>';
    const evilName = '<i>Eve</i>';
    const eve = await join(room, evilName);
    const bob = await join(room, 'Bob');

    await send(eve, payload);
    const atBob = await waitForMessage(bob, payload);
    await waitForMessage(eve, payload);

    expect(await atBob.getByTestId('message-text').textContent()).to.equal(payload);
    expect(await atBob.getByTestId('message-name').textContent()).to.equal(evilName);
    await eventually(async () => expect(await memberNames(bob)).to.include(evilName));
    for (const page of [eve, bob]) {
      expect(await page.locator('#chat-view img, #chat-view b, #chat-view i, #chat-view script').count()).to.equal(0);
      expect(await page.evaluate('window.__pwned')).to.equal(undefined);
    }
  });

  it('reconnects after going offline and catches up from history without duplicates', async () => {
    const room = uniqueRoom('offline');
    const ada = await join(room, 'Ada');
    const bob = await join(room, 'Bob');
    // Presence comes coalesced: a join and a leave in one batch show nothing (noticesOf), so
    // Ada must have been told of Bob's join before Bob leaves for his leave to show.
    await ada.getByTestId('notice').filter({ hasText: 'Bob joined' }).waitFor({ timeout: WAIT_MS });
    await send(ada, 'before the drop');
    await waitForMessage(bob, 'before the drop');

    const bobContext = contexts[1] as BrowserContext;
    await bobContext.setOffline(true);
    await bob.locator('body[data-state="disconnected"]').waitFor({ state: 'attached', timeout: WAIT_MS });
    await ada.getByTestId('notice').filter({ hasText: 'Bob left' }).waitFor({ timeout: WAIT_MS });
    // More than one page of history (100), so the catch-up must follow `hasMore`.
    const fromAda = Array.from({ length: 5 }, (_, i) => `while Bob was away ${i + 1}`);
    for (const text of fromAda) {
      await send(ada, text);
      await waitForMessage(ada, text);
    }
    const fromBots = Array.from({ length: 110 }, (_, i) => `bot message ${i + 1}`);
    await postFromBots(server, room, fromBots);
    const missed = [...fromAda, ...fromBots];
    // Written while offline: shown as pending, sent once the page is back.
    await send(bob, 'written offline');
    await bob.getByTestId('pending').filter({ hasText: 'written offline' }).waitFor({ timeout: WAIT_MS });
    expect(await bob.getByTestId('pending').getAttribute('data-status')).to.equal('queued');

    await bobContext.setOffline(false);
    await waitSynced(bob);
    await waitForMessage(ada, 'written offline');
    await waitForMessage(bob, 'written offline');
    await bob.getByTestId('pending').waitFor({ state: 'detached', timeout: WAIT_MS });

    const expected = ['before the drop', ...missed, 'written offline'];
    expect(await messageTexts(bob)).to.deep.equal(expected);
    const ids = await messageIds(bob);
    expect(new Set(ids).size).to.equal(expected.length);
    expect(ids).to.deep.equal([...ids].sort());
  });

  it('reconnects by itself after the connection drops', async () => {
    const room = uniqueRoom('drop');
    const ada = await join(room, 'Ada');
    const bob = await join(room, 'Bob');
    await send(ada, 'one');
    await waitForMessage(bob, 'one');

    await bob.evaluate('window.chat.drop()');
    await bob.locator('body[data-state="disconnected"]').waitFor({ state: 'attached', timeout: WAIT_MS });
    await send(ada, 'two');
    await waitSynced(bob);
    await send(ada, 'three');
    await waitForMessage(bob, 'three');
    await waitForMessage(bob, 'two');
    expect(await messageTexts(bob)).to.deep.equal(['one', 'two', 'three']);
  });

  it('loads recent history on join and again on reload, without duplicates', async () => {
    const room = uniqueRoom('reload');
    const ada = await join(room, 'Ada');
    const sent = ['first', 'second', 'third'];
    for (const text of sent) {
      // One at a time: the server orders by id, and concurrent sends may be stored in any order.
      await send(ada, text);
      await waitForMessage(ada, text);
    }

    const bob = await join(room, 'Bob');
    expect(await messageTexts(bob)).to.deep.equal(sent);

    await send(bob, 'fourth');
    await waitForMessage(ada, 'fourth');
    await bob.reload();
    await waitSynced(bob);
    await send(ada, 'fifth');
    await waitForMessage(bob, 'fifth');
    expect(await messageTexts(bob)).to.deep.equal([...sent, 'fourth', 'fifth']);
    expect(new Set(await messageIds(bob)).size).to.equal(5);
    expect(await message(bob, 'fourth').getByTestId('message-name').textContent()).to.equal('Bob');
  });

  it('draws as its own only what this page sent, not a stranger who takes its name, also after a reload', async () => {
    const room = uniqueRoom('namesake');
    const sam = await join(room, 'Sam');
    const stranger = await join(room, 'Sam');
    await send(sam, 'from the real Sam');
    await waitForMessage(stranger, 'from the real Sam');
    await send(stranger, 'from the other Sam');
    await waitForMessage(sam, 'from the other Sam');

    const ownClass = async (page: typeof sam, text: string) =>
      ((await message(page, text).getAttribute('class')) ?? '').split(' ').includes('own');
    const expectOwn = async (page: typeof sam, mine: string, theirs: string, when: string) => {
      expect(await ownClass(page, mine), `${mine} on its sender's page, ${when}`).to.equal(true);
      expect(await ownClass(page, theirs), `${theirs} on the other page, ${when}`).to.equal(false);
      expect(await message(page, theirs).getByTestId('message-name').textContent()).to.equal('Sam');
    };
    await expectOwn(sam, 'from the real Sam', 'from the other Sam', 'live');
    await expectOwn(stranger, 'from the other Sam', 'from the real Sam', 'live');

    // From history: the page knows its messages by the ids its confirmations gave.
    await sam.reload();
    await waitSynced(sam);
    await waitForMessage(sam, 'from the other Sam');
    await expectOwn(sam, 'from the real Sam', 'from the other Sam', 'after a reload');
    // A page of its own storage (another tab, another person) holds none of them.
    const newcomer = await join(room, 'Sam');
    await waitForMessage(newcomer, 'from the other Sam');
    expect(await newcomer.locator('[data-testid="message"].own').count(), "a newcomer's own messages").to.equal(0);
  });

  it('refuses an invalid room or name in the form, with a clear message', async () => {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(chatUrl(server, { room: 'no spaces allowed', name: 'Ada' }), { timeout: WAIT_MS });

    expect(await page.getByTestId('room-error').textContent()).to.contain('letters, digits');
    expect(await page.evaluate('document.body.dataset.state')).to.equal('idle');
    expect(await page.getByTestId('chat-view').isHidden()).to.equal(true);

    await page.getByTestId('room-input').fill(uniqueRoom('form'));
    await page.getByTestId('name-input').fill('   ');
    await page.getByTestId('join-button').click();
    // The page asks the server how to sign in before it checks the name: the error comes after that.
    await page.getByTestId('name-error').filter({ hasText: /\S/ }).waitFor({ timeout: WAIT_MS });
    expect(await page.getByTestId('name-error').textContent()).to.equal('Enter a name.');
    expect(await page.getByTestId('room-error').isHidden()).to.equal(true);

    await page.getByTestId('name-input').fill('Ada');
    await page.getByTestId('join-button').click();
    await waitSynced(page);
    expect(await page.getByTestId('room-title').textContent()).to.match(/^#form-/);
  });

  it('says a message is too long before sending it, and sends nothing', async () => {
    const page = await join(uniqueRoom('long'), 'Ada');
    const input = page.getByTestId('message-input');
    await input.fill('é'.repeat(2049)); // 4098 UTF-8 bytes
    expect(await page.getByTestId('counter').textContent()).to.equal('4098 / 4096 bytes: too long to send');
    await input.press('Enter');
    expect(await page.getByTestId('pending').count()).to.equal(0);
    expect(await input.inputValue()).to.have.length(2049);

    await input.fill('é'.repeat(2048));
    expect(await page.getByTestId('counter').textContent()).to.equal('4096 / 4096 bytes');
    await input.press('Enter');
    await waitForMessage(page, 'é'.repeat(2048));
  });

  it('fits a phone-sized screen', async () => {
    const room = uniqueRoom('phone');
    const page = await join(room, 'Ada', PHONE);
    await send(page, 'A long line that must wrap on a small screen: ' + 'x'.repeat(200));
    await waitForMessage(page, 'A long line that must wrap on a small screen: ' + 'x'.repeat(200));

    const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).to.equal(0);
    for (const id of ['message-input', 'send-button', 'members']) {
      const box = await page.getByTestId(id).boundingBox();
      expect(box, id).to.not.equal(null);
      expect(box!.x + box!.width, id).to.be.at.most(PHONE.width);
      expect(box!.y + box!.height, id).to.be.at.most(PHONE.height);
    }
  });
});
