/**
 * `npm run screenshots`: docs/chat-desktop.png and docs/chat-phone.png, the chat page in
 * headless Chromium during a realistic conversation. The conversation is served by the
 * stand-in server (./fake-chat-server.ts, which the browser tests can run against too), which
 * can date messages in the past.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { WebSocket } from 'ws';
import { webDir } from '../build';
import { DESKTOP, PHONE, chatUrl, launchBrowser, waitForMessage, waitSynced } from './chromium';
import { startFakeChatServer, type FakeChatServer } from './fake-chat-server';

const ROOM = 'release-train';
const ME = 'Sam';
const MINUTE = 60_000;

const CONVERSATION: [minutesAgo: number, name: string, text: string][] = [
  [42, 'Maya', 'Morning! The stack is up in eu-west-1: sam deploy went through on the first try.'],
  [40, 'Jonas', 'Nice. Two wscat sessions and the browser all see each other.'],
  [37, 'Maya', 'Could someone try the page on a phone? I only checked a laptop.'],
  [31, ME, 'On it. Works on mine, and it caught up after I switched to the train wifi.'],
  [24, 'Jonas', 'Checklist before we tag it:\n1. npm test\n2. sam validate --lint\n3. screenshots in docs/'],
  [19, 'Maya', 'Tests are green. I also tried <b>bold</b> in a message: it stays text, as it should.'],
  [12, ME, 'Tagging v0.2 after lunch then.'],
];

/** Someone else in the room: a plain chat.v1 client, as another browser would be. */
async function connect(server: FakeChatServer, name: string): Promise<WebSocket> {
  const url = new URL(server.wsUrl);
  url.searchParams.set('room', ROOM);
  url.searchParams.set('name', name);
  const socket = new WebSocket(url, 'chat.v1');
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  return socket;
}

/** One screenshot, of a fresh server holding the conversation, with Maya and Jonas online. */
async function shoot(browser: Browser, file: string, phone: boolean): Promise<void> {
  const server = await startFakeChatServer();
  const others = await Promise.all(['Maya', 'Jonas'].map((name) => connect(server, name)));
  const now = Date.now();
  for (const [minutesAgo, name, text] of CONVERSATION) server.post(ROOM, name, text, new Date(now - minutesAgo * MINUTE));
  const context = await browser.newContext({
    viewport: phone ? PHONE : DESKTOP,
    deviceScaleFactor: phone ? 2 : 1,
    isMobile: phone,
    hasTouch: phone,
    locale: 'en-GB',
    timezoneId: 'Europe/Berlin',
    colorScheme: 'light',
  });
  const page = await context.newPage();
  await page.goto(chatUrl(server, { room: ROOM, name: ME }));
  await waitSynced(page);
  const priya = await connect(server, 'Priya');
  await page.getByTestId('notice').filter({ hasText: 'Priya joined' }).waitFor();
  priya.send(JSON.stringify({ action: 'sendmessage', message: 'Hi all, just landed. What did I miss?' }));
  await waitForMessage(page, 'Hi all, just landed. What did I miss?');
  await page.getByTestId('member').filter({ hasText: 'Priya' }).waitFor();
  await page.getByTestId('message-input').fill('Scroll up, it is all there (history catches you up).');
  await page.getByTestId('message-input').blur();
  await page.screenshot({ path: file });
  console.log(`${path.relative(process.cwd(), file)}`);
  await context.close();
  for (const socket of [priya, ...others]) socket.close();
  await server.close();
}

async function main(): Promise<void> {
  const browser = await launchBrowser();
  try {
    const docs = path.join(webDir, '..', 'docs');
    await mkdir(docs, { recursive: true });
    await shoot(browser, path.join(docs, 'chat-desktop.png'), false);
    await shoot(browser, path.join(docs, 'chat-phone.png'), true);
  } finally {
    await browser.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
