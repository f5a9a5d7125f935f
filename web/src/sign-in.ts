/**
 * Signing in, when the server authenticates connections (template parameter AuthMode):
 *
 * - against `npm start` with AuthMode=cognito, the local runtime issues the tokens: the
 *   page asks its `/_local/token` endpoint for one in the name typed in the form;
 * - against a deployed `cognito` stack (`?signIn=<sign-in domain>&clientId=<app client>`,
 *   the stack's ChatPageSignIn output), Cognito's managed sign-in, authorization code with
 *   PKCE: the page goes to the sign-in pages and comes back with a one-time code, which it
 *   exchanges for tokens.
 *
 * Tokens stay in memory and go to the server as a `token.<jwt>` subprotocol, never in a URL
 * the page opens. The page's own messages are those with the token's subject as userId.
 */
import { DISPLAY_NAME_CLAIMS, TOKEN_SUBPROTOCOL_PREFIX } from 'chat-core/wire';

export { TOKEN_SUBPROTOCOL_PREFIX };

/** Who the page is, for a server that authenticates. */
export interface Credentials {
  /** The token's subject: the userId of the page's own messages. */
  readonly userId: string;
  /** The name the token gives (the server shows this one). */
  readonly name: string;
  /** A token valid for a while yet, renewed when it is about to expire. */
  token(): Promise<string>;
}

export type SignInMethod = { kind: 'none' } | { kind: 'local'; endpoint: string } | { kind: 'cognito'; domain: string; clientId: string };

/** A token is renewed this long before it expires. */
const RENEW_BEFORE_MS = 60_000;
const LOCAL_SUB_KEY = 'chat.localSub';
const PKCE_KEY = 'chat.pkce';

type Claims = Record<string, unknown>;

/** A JWT's claims, read without verifying (the server verifies; the page only shows them). */
export function claimsOf(token: string): Claims {
  const payload = token.split('.')[1] ?? '';
  const binary = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)))) as Claims;
}

function displayName(claims: Claims): string {
  const claim = DISPLAY_NAME_CLAIMS.find((name) => typeof claims[name] === 'string' && (claims[name] as string).trim() !== '');
  return claim === undefined ? '' : String(claims[claim]);
}

const expiresSoon = (token: string): boolean => Number(claimsOf(token).exp ?? 0) * 1000 - Date.now() < RENEW_BEFORE_MS;

/**
 * How the server wants the page to sign in: Cognito when the address names a sign-in domain
 * and client, the local issuer when the page's own server (npm start) plays one, else none.
 */
export async function signInMethod(params: URLSearchParams, wsUrl: string, location: Location = window.location): Promise<SignInMethod> {
  const domain = params.get('signIn');
  const clientId = params.get('clientId');
  if (domain !== null && clientId !== null) return { kind: 'cognito', domain: domain.replace(/\/+$/, ''), clientId };
  const sameServer = (location.protocol === 'http:' || location.protocol === 'https:') && new URL(wsUrl).host === location.host;
  if (!sameServer) return { kind: 'none' };
  const endpoint = new URL('/_local/token', location.href).toString();
  try {
    // The local runtime answers {"issuer": null} when its template has no user pool.
    const answer = await fetch(endpoint, { headers: { accept: 'application/json' } });
    const described = answer.ok ? ((await answer.json()) as { issuer?: unknown }) : {};
    return typeof described.issuer === 'string' ? { kind: 'local', endpoint } : { kind: 'none' };
  } catch {
    return { kind: 'none' };
  }
}

// ----------------------------------------------------------------- local issuer

/**
 * Tokens from the local runtime's issuer, for the name typed in the form; one subject per tab.
 * `groups` (the page's `?groups=` parameter, e.g. `moderators`) go in the token's groups claim,
 * as a Cognito user's would: how a moderator is tried locally. The local issuer signs anything
 * it is asked for, so this grants nothing a deployed stack would.
 */
export class LocalSignIn implements Credentials {
  private constructor(
    private readonly endpoint: string,
    readonly name: string,
    readonly userId: string,
    private readonly groups: string[],
    private current: string,
  ) {}

  static async start(endpoint: string, name: string, groups: string[] = []): Promise<LocalSignIn> {
    const sub = sessionStorage.getItem(LOCAL_SUB_KEY) ?? undefined;
    const { token, sub: userId } = await LocalSignIn.issue(endpoint, { name, sub, groups });
    sessionStorage.setItem(LOCAL_SUB_KEY, userId);
    return new LocalSignIn(endpoint, displayName(claimsOf(token)) || name, userId, groups, token);
  }

  private static async issue(
    endpoint: string,
    { name, sub, groups }: { name: string; sub: string | undefined; groups: string[] },
  ): Promise<{ token: string; sub: string }> {
    const answer = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // The issuer calls the groups claim `rooms` (with Cognito, groups are the rooms a token allows).
      body: JSON.stringify({ name, ...(sub !== undefined && { sub }), ...(groups.length > 0 && { rooms: groups }) }),
    });
    const body = (await answer.json()) as { token?: string; sub?: string; message?: string };
    if (!answer.ok || body.token === undefined || body.sub === undefined)
      throw new Error(`Sign-in failed: ${body.message ?? answer.status}`);
    return { token: body.token, sub: body.sub };
  }

  async token(): Promise<string> {
    if (expiresSoon(this.current))
      this.current = (await LocalSignIn.issue(this.endpoint, { name: this.name, sub: this.userId, groups: this.groups })).token;
    return this.current;
  }
}

// ----------------------------------------------------------------- Cognito, PKCE

type CognitoMethod = Extract<SignInMethod, { kind: 'cognito' }>;

interface PendingSignIn {
  state: string;
  verifier: string;
  /** Where the page signs in (the address it comes back to has no query string). */
  method: CognitoMethod;
  /** What the page was joining, to carry on with after the sign-in pages. */
  room: string;
  wsUrl: string;
}

/** Whether the page's address is the sign-in pages sending the browser back. */
export const isSignInReturn = (params: URLSearchParams): boolean => params.has('state') && (params.has('code') || params.has('error'));

const base64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const randomText = (): string => base64url(crypto.getRandomValues(new Uint8Array(32)));

/** Where the sign-in pages send the browser back: this page, without its query string. */
export function redirectUri(location: Location = window.location): string {
  return `${location.origin}${location.pathname}`;
}

export class CognitoSignIn implements Credentials {
  readonly userId: string;
  readonly name: string;

  private constructor(
    private readonly method: CognitoMethod,
    private idToken: string,
    private readonly refreshToken: string | undefined,
  ) {
    const claims = claimsOf(idToken);
    this.userId = String(claims.sub ?? '');
    this.name = displayName(claims);
  }

  /** Goes to the managed sign-in pages (the page is left; it comes back with ?code=&state=). */
  static async begin(method: CognitoMethod, room: string, wsUrl: string): Promise<void> {
    const pending: PendingSignIn = { state: randomText(), verifier: randomText(), method, room, wsUrl };
    sessionStorage.setItem(PKCE_KEY, JSON.stringify(pending));
    const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(pending.verifier))));
    const authorize = new URL(`${method.domain}/oauth2/authorize`);
    authorize.search = new URLSearchParams({
      response_type: 'code',
      client_id: method.clientId,
      redirect_uri: redirectUri(),
      scope: 'openid profile email',
      state: pending.state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString();
    window.location.assign(authorize.toString());
  }

  /**
   * Back from the sign-in pages: exchanges the one-time code (bound to this tab's PKCE
   * verifier and state) for tokens. Returns what the page was joining.
   */
  static async complete(
    params: URLSearchParams,
  ): Promise<{ credentials: CognitoSignIn; method: CognitoMethod; room: string; wsUrl: string }> {
    const stored = sessionStorage.getItem(PKCE_KEY);
    sessionStorage.removeItem(PKCE_KEY);
    const pending = stored === null ? null : (JSON.parse(stored) as PendingSignIn);
    const error = params.get('error_description') ?? params.get('error');
    if (error !== null) throw new Error(`Sign-in failed: ${error}`);
    if (pending === null || params.get('state') !== pending.state)
      throw new Error('Sign-in failed: this sign-in was not started from this tab. Join again.');
    const { method } = pending;
    const tokens = await CognitoSignIn.tokenRequest(method, {
      grant_type: 'authorization_code',
      code: params.get('code') ?? '',
      redirect_uri: redirectUri(),
      code_verifier: pending.verifier,
    });
    return {
      credentials: new CognitoSignIn(method, tokens.id_token, tokens.refresh_token),
      method,
      room: pending.room,
      wsUrl: pending.wsUrl,
    };
  }

  private static async tokenRequest(
    method: CognitoMethod,
    form: Record<string, string>,
  ): Promise<{ id_token: string; refresh_token?: string }> {
    const answer = await fetch(`${method.domain}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: method.clientId, ...form }).toString(),
    });
    const body = (await answer.json()) as { id_token?: string; refresh_token?: string; error?: string };
    if (!answer.ok || body.id_token === undefined) throw new Error(`Sign-in failed: ${body.error ?? answer.status}`);
    return { id_token: body.id_token, ...(body.refresh_token !== undefined && { refresh_token: body.refresh_token }) };
  }

  async token(): Promise<string> {
    if (expiresSoon(this.idToken)) {
      if (this.refreshToken === undefined) throw new Error('Your sign-in has expired: leave and join again.');
      this.idToken = (
        await CognitoSignIn.tokenRequest(this.method, { grant_type: 'refresh_token', refresh_token: this.refreshToken })
      ).id_token;
    }
    return this.idToken;
  }
}
