/**
 * Driving the chat page in headless Chromium (the system's, never a download): the browser,
 * the page's address, and waiting for what it shows. Shared by the screenshots and the browser
 * tests (test/browser/helpers.ts adds what only the tests need).
 */
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

/** Where a chat server serves the page and its WebSocket API. */
export interface PageServer {
  /** http://127.0.0.1:<port>/ (serves the chat page) */
  httpUrl: string;
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

export function chatUrl(server: PageServer, params: Record<string, string>): string {
  const url = new URL(server.httpUrl);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.toString();
}

export async function waitSynced(page: Page): Promise<void> {
  await page.locator('body[data-state="connected"][data-synced="true"]').waitFor({ state: 'attached', timeout: WAIT_MS });
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
