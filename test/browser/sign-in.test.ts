/**
 * The chat page signing in (web/src/sign-in.ts), in headless Chromium against the local
 * runtime with AuthMode=cognito: the local issuer's name form, two people of one name kept
 * apart by userId, no token in any URL the page opens, and Cognito's managed sign-in
 * (authorization code with PKCE) played by a stand-in of its two endpoints here.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import type { LocalRuntime } from '../../local/src/index';
import { WAIT_MS, chatUrl, eventually, memberNames, send, uniqueRoom, waitForMessage, waitSynced } from './helpers';
import { signedInChat } from './signed-in';

/** Every URL a page asks for, WebSocket upgrades included. */
function recordUrls(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (request) => urls.push(request.url()));
  page.on('websocket', (socket) => urls.push(socket.url()));
  page.on('framenavigated', (frame) => urls.push(frame.url()));
  return urls;
}

interface FakeCognito {
  origin: string;
  /** The token requests it answered, as forms. */
  exchanges: URLSearchParams[];
  close(): Promise<void>;
}

/**
 * Cognito's /oauth2/authorize (signs "Cognito Carol" in at once and sends the browser back
 * with a code) and /oauth2/token (checks the PKCE verifier against the challenge, and
 * answers an ID token of the local runtime's issuer).
 */
async function startFakeCognito(runtime: LocalRuntime, clientId: string): Promise<FakeCognito> {
  const exchanges: URLSearchParams[] = [];
  const codes = new Map<string, { challenge: string; redirectUri: string }>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (req.method === 'GET' && url.pathname === '/oauth2/authorize') {
      const p = url.searchParams;
      const ok =
        p.get('response_type') === 'code' &&
        p.get('client_id') === clientId &&
        p.get('code_challenge_method') === 'S256' &&
        p.get('scope')?.split(' ').includes('openid');
      if (!ok) return void res.writeHead(400).end('bad authorize request');
      const code = `code-${codes.size + 1}`;
      codes.set(code, { challenge: p.get('code_challenge') ?? '', redirectUri: p.get('redirect_uri') ?? '' });
      const back = new URL(p.get('redirect_uri') ?? '');
      back.search = new URLSearchParams({ code, state: p.get('state') ?? '' }).toString();
      return void res.writeHead(302, { location: back.toString() }).end();
    }
    if (req.method === 'POST' && url.pathname === '/oauth2/token') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        exchanges.push(form);
        const issued = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        const challenge = createHash('sha256').update(verifier).digest('base64url');
        const headers = { 'content-type': 'application/json', 'access-control-allow-origin': '*' };
        if (
          !issued ||
          issued.challenge !== challenge ||
          issued.redirectUri !== form.get('redirect_uri') ||
          form.get('client_id') !== clientId
        ) {
          return void res.writeHead(400, headers).end(JSON.stringify({ error: 'invalid_grant' }));
        }
        void (runtime.issuer as NonNullable<LocalRuntime['issuer']>)
          .issue({ name: 'Cognito Carol', sub: 'carol-sub-1' })
          .then(({ token }) =>
            res.writeHead(200, headers).end(
              JSON.stringify({
                id_token: token,
                access_token: 'not-used',
                refresh_token: 'refresh-1',
                token_type: 'Bearer',
                expires_in: 3600,
              }),
            ),
          );
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exchanges,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('chat page sign-in (AuthMode=cognito, headless Chromium)', function () {
  this.timeout(60_000);
  const chat = signedInChat();
  const newPage = (): Promise<Page> => chat.newPage();

  it('signs in through the local issuer with the name form, and never puts the token in a URL', async () => {
    const page = await newPage();
    const urls = recordUrls(page);
    await page.goto(chat.runtime.httpUrl, { timeout: WAIT_MS });
    await page.getByTestId('sign-in-hint').waitFor({ timeout: WAIT_MS });
    await page.getByTestId('room-input').fill(uniqueRoom('signin'));
    await page.getByTestId('name-input').fill('Ada');
    await page.getByTestId('join-button').click();
    await waitSynced(page);

    await send(page, 'signed in and talking');
    const mine = await waitForMessage(page, 'signed in and talking');
    expect(await mine.getAttribute('class')).to.include('own');
    expect(await mine.getAttribute('data-user-id')).to.match(/^[0-9a-f-]{36}$/);
    expect(await page.getByTestId('me').textContent()).to.equal('as Ada');

    const socket = urls.find((url) => url.startsWith('ws://'));
    expect(socket, 'the WebSocket URL').to.be.a('string');
    expect(new URL(socket as string).searchParams.has('name'), 'no ?name= when signed in').to.equal(false);
    expect(
      urls.filter((url) => /token=|eyJ/.test(url)),
      'URLs with a token',
    ).to.deep.equal([]);
  });

  it('keeps two people with one name apart: "mine" by userId, two members', async () => {
    const room = uniqueRoom('twins');
    const [first, second] = [await newPage(), await newPage()];
    for (const page of [first, second]) {
      await page.goto(chatUrl(chat.runtime, { room, name: 'Sam' }), {
        timeout: WAIT_MS,
      });
      await waitSynced(page);
    }

    await send(first, 'from the first Sam');
    await send(second, 'from the second Sam');
    for (const [page, own, other] of [
      [first, 'from the first Sam', 'from the second Sam'],
      [second, 'from the second Sam', 'from the first Sam'],
    ] as const) {
      const ownMessage = await waitForMessage(page, own);
      const otherMessage = await waitForMessage(page, other);
      expect(await ownMessage.getAttribute('class'), `${own} on its sender's page`).to.include('own');
      expect(await otherMessage.getAttribute('class'), `${other} on the other page`).to.not.include('own');
      expect(await otherMessage.getByTestId('message-name').textContent()).to.equal('Sam');
      expect(await ownMessage.getAttribute('data-user-id')).to.not.equal(await otherMessage.getAttribute('data-user-id'));
    }
    await eventually(async () => expect(await memberNames(first)).to.deep.equal(['Sam', 'Sam']));
    expect(await first.getByTestId('member').locator('.you').count(), 'one of them is you').to.equal(1);
  });

  it("signs in with Cognito's managed sign-in (authorization code with PKCE) and joins the room it was asked for", async () => {
    const pool = [...chat.runtime.template.userPools.values()][0];
    const clientId = pool?.clientIds[0] as string;
    const cognito = await startFakeCognito(chat.runtime, clientId);
    try {
      const page = await newPage();
      const urls = recordUrls(page);
      const room = uniqueRoom('cognito');
      await page.goto(`${chat.runtime.httpUrl}?${new URLSearchParams({ signIn: cognito.origin, clientId }).toString()}`, {
        timeout: WAIT_MS,
      });
      expect(await page.getByTestId('name-input').isVisible(), 'no name field: the account gives it').to.equal(false);
      await page.getByTestId('room-input').fill(room);
      await page.getByTestId('join-button').click();
      await waitSynced(page);

      expect(await page.getByTestId('room-title').textContent()).to.equal(`#${room}`);
      expect(await page.getByTestId('me').textContent()).to.equal('as Cognito Carol');
      await send(page, 'hello from Cognito');
      expect(await (await waitForMessage(page, 'hello from Cognito')).getAttribute('data-user-id')).to.equal('carol-sub-1');

      expect(cognito.exchanges.map((form) => form.get('grant_type'))).to.deep.equal(['authorization_code']);
      const address = new URL(page.url());
      expect([...address.searchParams.keys()].sort(), 'the one-time code left the address').to.deep.equal(['clientId', 'room', 'signIn']);
      expect(
        urls.filter((url) => /token=|eyJ/.test(url)),
        'URLs with a token',
      ).to.deep.equal([]);
    } finally {
      await cognito.close();
    }
  });
});
