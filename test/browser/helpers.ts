/** Page helpers of the browser tests, over web/tools/chromium.ts (the browser, the page's address, waiting for what it shows). */
export { DESKTOP, PHONE, WAIT_MS, chatUrl, launchBrowser, message, waitForMessage, waitSynced } from '../../web/tools/chromium';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DESKTOP, WAIT_MS, chatUrl, waitSynced } from '../../web/tools/chromium';
import { CHAT_V1 } from 'chat-core/wire';
import { WebSocket } from 'ws';

/** What the tests need of a chat server: the local runtime and the stand-in both give it. */
export interface ChatServer {
  /** ws://127.0.0.1:<port>/production */
  wsUrl: string;
  /** http://127.0.0.1:<port>/ (serves the chat page) */
  httpUrl: string;
  close(): Promise<void>;
}

/** A room no other test (or earlier run against the same store) has used. */
export function uniqueRoom(label: string): string {
  return `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Opens the page in its own context (its own storage), joined and caught up. */
export async function openChat(
  browser: Browser,
  server: ChatServer,
  room: string,
  name: string,
  viewport = DESKTOP,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport, locale: 'en-US', timezoneId: 'UTC' });
  const page = await context.newPage();
  const errors: Error[] = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(chatUrl(server, { room, name }), { timeout: WAIT_MS });
  await waitSynced(page);
  if (errors.length > 0) throw errors[0];
  return { context, page };
}

export async function send(page: Page, text: string): Promise<void> {
  const input = page.getByTestId('message-input');
  await input.fill(text);
  await input.press('Enter');
}

export async function messageTexts(page: Page): Promise<string[]> {
  return page.getByTestId('message-text').allTextContents();
}

export async function messageIds(page: Page): Promise<string[]> {
  const items = await page.getByTestId('message').all();
  return Promise.all(items.map(async (item) => (await item.getAttribute('data-id')) ?? ''));
}

export async function memberNames(page: Page): Promise<string[]> {
  return page.getByTestId('member').locator('.member-name').allTextContents();
}

/** Polls until `check` passes, then returns; its last error if it never does. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Messages one connection sends before the next takes over: under the server's rate limit (20 per 10 s). */
const PER_CONNECTION = 15;

async function openBot(server: ChatServer, room: string, name: string): Promise<WebSocket> {
  const url = new URL(server.wsUrl);
  url.searchParams.set('room', room);
  url.searchParams.set('name', name);
  const socket = new WebSocket(url, CHAT_V1);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  return socket;
}

function sendAndConfirm(socket: WebSocket, text: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      socket.off('message', onMessage);
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`no echo of ${text}`)), WAIT_MS);
    const onMessage = (data: Buffer) => {
      let frame: { type?: string; text?: string; message?: string };
      try {
        frame = JSON.parse(data.toString()) as typeof frame;
      } catch {
        return done(new Error(`${text}: a frame that is not chat.v1 JSON: ${data.toString().slice(0, 120)}`));
      }
      if (frame.type === 'error') done(new Error(`${text}: ${frame.message}`));
      else if (frame.type === 'message' && frame.text === text) done();
    };
    socket.on('message', onMessage);
    socket.send(JSON.stringify({ action: 'sendmessage', message: text }));
  });
}

/**
 * Sends `texts` to a room from plain `ws` clients speaking chat.v1 (several, to stay
 * under the rate limit), each waiting for the echo that confirms its message is stored.
 * The clients stay connected until all is sent, then leave together.
 */
export async function postFromBots(server: ChatServer, room: string, texts: string[]): Promise<void> {
  const bots: WebSocket[] = [];
  try {
    for (let start = 0; start < texts.length; start += PER_CONNECTION) {
      const bot = await openBot(server, room, `bot-${bots.length + 1}`);
      bots.push(bot);
      for (const text of texts.slice(start, start + PER_CONNECTION)) await sendAndConfirm(bot, text);
    }
  } finally {
    await Promise.all(bots.map((bot) => new Promise((resolve) => bot.once('close', resolve).close())));
  }
}
