/**
 * For a describe() block of the browser tests that sign in: the local runtime with
 * AuthMode=cognito (its own token issuer) and Chromium, started once for the block; pages,
 * each in a context of its own, closed after every test, which fails on any error in a page.
 */
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startLocalRuntime, type LocalRuntime } from '../../local/src/index';
import { buildChatPage } from '../../web/build';
import { DESKTOP, launchBrowser } from './helpers';

export interface SignedInChat {
  /** The runtime, once the block's `before` has run. */
  readonly runtime: LocalRuntime;
  /** A fresh page (its own storage: its own person), closed after the test. */
  newPage(): Promise<Page>;
}

export function signedInChat(): SignedInChat {
  let runtime: LocalRuntime | undefined;
  let browser: Browser | undefined;
  let contexts: BrowserContext[] = [];
  const pageErrors: Error[] = [];

  before(async () => {
    runtime = await startLocalRuntime({
      port: 0,
      dynamodbPort: 0,
      quiet: true,
      page: buildChatPage,
      parameterOverrides: { AuthMode: 'cognito' },
    });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await runtime?.close();
  });

  afterEach(async () => {
    await Promise.all(contexts.map((context) => context.close()));
    contexts = [];
    expect(
      pageErrors.splice(0).map((e) => e.message),
      'errors in the page',
    ).to.deep.equal([]);
  });

  return {
    get runtime(): LocalRuntime {
      if (!runtime) throw new Error('the runtime starts in the block’s before hook');
      return runtime;
    },
    async newPage(): Promise<Page> {
      if (!browser) throw new Error('the browser starts in the block’s before hook');
      const context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US', timezoneId: 'UTC' });
      contexts.push(context);
      const page = await context.newPage();
      page.on('pageerror', (error) => pageErrors.push(error));
      return page;
    },
  };
}
