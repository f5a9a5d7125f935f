/** Headless Chromium (the system's, never a download) and small page helpers for the chat page. */
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
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

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };
/**
 * How long any one expectation may take: presence notices come coalesced, through a delayed
 * queue message (PresenceIntervalSeconds), and a shared 2-core machine can take several seconds.
 */
export const WAIT_MS = 10_000;

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
    timeout: 20_000,
  });
}

/** A room no other test (or earlier run against the same store) has used. */
export function uniqueRoom(label: string): string {
  return `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export function chatUrl(server: ChatServer, params: Record<string, string>): string {
  const url = new URL(server.httpUrl);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.toString();
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

export async function waitSynced(page: Page): Promise<void> {
  await page.locator('body[data-state="connected"][data-synced="true"]').waitFor({ state: 'attached', timeout: WAIT_MS });
}

export async function send(page: Page, text: string): Promise<void> {
  const input = page.getByTestId('message-input');
  await input.fill(text);
  await input.press('Enter');
}

/** The confirmed message (it has an id from the server) with exactly this text. */
export function message(page: Page, text: string): Locator {
  return page.getByTestId('message').filter({ has: page.getByTestId('message-text').getByText(text, { exact: true }) });
}

export async function waitForMessage(page: Page, text: string): Promise<Locator> {
  const found = message(page, text);
  await found.first().waitFor({ timeout: WAIT_MS });
  return found;
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
