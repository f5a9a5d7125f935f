/**
 * The local runtime as the token issuer of the template's Cognito user pools
 * (AWS::Cognito::UserPool), so that an authorizer verifies tokens here as it does on AWS,
 * unmodified: only its environment differs.
 *
 * - One RS256 signing key per project folder, made on first use and kept beside the
 *   project's local builds in the OS temporary directory (local/src/lambda/build.ts), so that tokens
 *   from `npm run token` are valid for every runtime started from that folder.
 * - Tokens are ID tokens as Cognito issues them: `iss` is the pool's issuer as the template
 *   resolves it locally (`https://cognito-idp.<region>.amazonaws.com/<poolId>`), `aud` its
 *   app client, `token_use` id, the name in `name` and `cognito:username`, the rooms as
 *   Cognito groups (`cognito:groups`).
 * - The pool's endpoints under its issuer (`…/<poolId>/.well-known/jwks.json` and
 *   `openid-configuration`) are served on the runtime's port, where the functions'
 *   environment points them (local/src/lambda/lambda-env.ts); `/.well-known/jwks.json` serves the same keys.
 * - `GET /_local/token` describes the issuer (`{"issuer": null}` when the template has no user pool,
 *   so that a page can ask without an error; a POST is then 404: noIssuer);
 *   `POST /_local/token` with `{"name", "rooms"?, "expiresInSeconds"?, "sub"?}` issues a token,
 *   for the chat page's local sign-in.
 */
import type { HttpService } from '../front-door/registry.js';
import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { defaultBuildRoot } from '../lambda/build.js';
import { readBody } from '../core/http.js';
import type { TemplateModel, UserPoolModel } from '../template/template.js';

export interface TokenRequest {
  /** The display name: claims `name` and `cognito:username`. */
  name: string;
  /** The rooms the token allows, as Cognito groups (`cognito:groups`); none: any room. */
  rooms?: string[];
  /** Seconds until it expires (default 3600, Cognito's default); negative: expired already, to try a refusal. */
  expiresInSeconds?: number;
  /** The subject; by default a new UUID, so that each token is another person. */
  sub?: string;
}

export interface IssuedToken {
  token: string;
  sub: string;
  issuer: string;
  audience: string;
  /** ISO 8601. */
  expiresAt: string;
}

interface SigningKey {
  privateJwk: JWK;
  publicJwk: JWK;
}

export const TOKEN_PATH = '/_local/token';
const DEFAULT_EXPIRES_IN = 3600;
const MAX_EXPIRES_IN = 24 * 3600;
const MAX_NAME_LENGTH = 128;

/** Where the signing key of the project in `projectDir` is kept. */
export function signingKeyFile(projectDir: string): string {
  return join(defaultBuildRoot(projectDir), 'token-issuer', 'signing-key.jwk.json');
}

/** The project's signing key, made once; concurrent runtimes agree on the first one written. */
async function loadSigningKey(file: string): Promise<SigningKey> {
  let privateJwk: JWK;
  try {
    privateJwk = JSON.parse(await readFile(file, 'utf8')) as JWK;
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new Error(`local token issuer: cannot read its key ${file}: ${(e as Error).message}`, { cause: e });
    const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
    const made = await exportJWK(privateKey);
    made.kid = await calculateJwkThumbprint(made);
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const temp = `${file}.${process.pid}-${randomUUID()}`;
    await writeFile(temp, JSON.stringify(made), { mode: 0o600 });
    // link() fails when the file exists: the key another runtime wrote first wins.
    await link(temp, file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    await rm(temp, { force: true });
    privateJwk = JSON.parse(await readFile(file, 'utf8')) as JWK;
  }
  const { kty, n, e, kid } = privateJwk;
  return { privateJwk, publicJwk: { kty, n, e, kid, alg: 'RS256', use: 'sig' } };
}

/** Why a token request cannot be served (empty: it can). */
export function tokenRequestProblems(request: Partial<Record<keyof TokenRequest, unknown>>): string[] {
  const problems: string[] = [];
  const { name, rooms, expiresInSeconds, sub } = request;
  if (typeof name !== 'string' || name.trim() === '' || name.length > MAX_NAME_LENGTH) {
    problems.push(`name must be 1-${MAX_NAME_LENGTH} characters`);
  }
  if (rooms !== undefined && (!Array.isArray(rooms) || !rooms.every((r) => typeof r === 'string' && r !== ''))) {
    problems.push('rooms must be a list of room names');
  }
  if (
    expiresInSeconds !== undefined &&
    (!Number.isInteger(expiresInSeconds) || expiresInSeconds === 0 || Math.abs(expiresInSeconds as number) > MAX_EXPIRES_IN)
  ) {
    problems.push(`expiresInSeconds must be a whole number of seconds, not 0, at most ${MAX_EXPIRES_IN} either way`);
  }
  if (sub !== undefined && (typeof sub !== 'string' || sub === '' || sub.length > 128)) problems.push('sub must be 1-128 characters');
  return problems;
}

/** `/_local/token` when the template has no user pool: nothing is issued, and a GET says so. */
export function noIssuer(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  if (req.method === 'GET' || req.method === 'HEAD') return json(res, 200, { issuer: null });
  return json(res, 404, { message: 'the template has no Cognito user pool: no tokens are issued here' });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' })
    .end(text);
}

export class LocalTokenIssuer {
  private constructor(
    private readonly pool: UserPoolModel,
    private readonly audience: string,
    private readonly key: SigningKey,
  ) {}

  /**
   * The issuer of the template's user pool (the first one with an app client), or undefined when
   * the template, with its parameters, has none.
   */
  static async forTemplate(model: Pick<TemplateModel, 'dir' | 'userPools'>): Promise<LocalTokenIssuer | undefined> {
    const pool = [...model.userPools.values()].find((p) => p.clientIds.length > 0);
    if (!pool) return undefined;
    return new LocalTokenIssuer(pool, pool.clientIds[0] as string, await loadSigningKey(signingKeyFile(model.dir)));
  }

  get issuer(): string {
    return this.pool.issuer;
  }

  get jwks(): { keys: JWK[] } {
    return { keys: [this.key.publicJwk] };
  }

  /** A signed ID token for `request` (see TokenRequest); throws with every problem of a bad request. */
  async issue(request: TokenRequest): Promise<IssuedToken> {
    const problems = tokenRequestProblems(request);
    if (problems.length > 0) throw new Error(problems.join('; '));
    const now = Math.floor(Date.now() / 1000);
    const exp = now + (request.expiresInSeconds ?? DEFAULT_EXPIRES_IN);
    const sub = request.sub ?? randomUUID();
    const name = request.name.trim();
    const rooms = request.rooms ?? [];
    const token = await new SignJWT({
      token_use: 'id',
      auth_time: Math.min(now, exp - 1),
      name,
      'cognito:username': name,
      ...(rooms.length > 0 && { 'cognito:groups': rooms }),
    })
      .setProtectedHeader({ alg: 'RS256', kid: this.key.publicJwk.kid as string })
      .setSubject(sub)
      .setIssuer(this.pool.issuer)
      .setAudience(this.audience)
      .setIssuedAt(Math.min(now, exp - 1))
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(await importJWK(this.key.privateJwk, 'RS256'));
    return { token, sub, issuer: this.pool.issuer, audience: this.audience, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /** Whether `pathname` is one of the issuer's endpoints. */
  matches(pathname: string): boolean {
    const poolPath = `/cognito-idp/${this.pool.poolId}/.well-known/`;
    return pathname === TOKEN_PATH || pathname === '/.well-known/jwks.json' || pathname.startsWith(poolPath);
  }

  /** Serves one of the issuer's endpoints; `origin` is the runtime's own (http://127.0.0.1:<port>). */
  async handle(req: IncomingMessage, res: ServerResponse, pathname: string, origin: string): Promise<void> {
    const poolPath = `/cognito-idp/${this.pool.poolId}/.well-known/`;
    if (pathname === TOKEN_PATH) return this.tokenEndpoint(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { message: 'Method Not Allowed' });
    if (pathname === '/.well-known/jwks.json' || pathname === `${poolPath}jwks.json`) return json(res, 200, this.jwks);
    if (pathname === `${poolPath}openid-configuration`) {
      return json(res, 200, {
        issuer: this.pool.issuer,
        jwks_uri: `${origin}${poolPath}jwks.json`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
    }
    return json(res, 404, { message: 'Not Found' });
  }

  private async tokenEndpoint(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Only pages of this runtime's origin may ask (another site cannot mint the user's tokens).
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host ?? ''}`)
      return json(res, 403, { message: `origin ${origin} may not ask for tokens` });
    if (req.method === 'GET') return json(res, 200, { issuer: this.pool.issuer, audience: this.audience, poolId: this.pool.poolId });
    if (req.method !== 'POST') return json(res, 405, { message: 'GET describes the issuer, POST issues a token' });
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? ''))
      return json(res, 415, { message: 'send the request as application/json' });
    const body = await readBody(req, 16 * 1024);
    let request: unknown;
    try {
      request = JSON.parse(body?.toString('utf8') ?? '');
    } catch {
      return json(res, 400, { message: 'the body must be a JSON object: {"name": "alice", "rooms": ["lobby"], "expiresInSeconds": 3600}' });
    }
    const problems = typeof request === 'object' && request !== null ? tokenRequestProblems(request) : ['the body must be a JSON object'];
    if (problems.length > 0) return json(res, 400, { message: problems.join('; ') });
    return json(res, 200, await this.issue(request as TokenRequest));
  }
}

/** The issuer's endpoints on the runtime's port (`origin`); without a user pool, /_local/token says none is issued. */
export function tokenService(issuer: LocalTokenIssuer | undefined, origin: string): HttpService {
  return {
    name: 'token-issuer',
    matches: (_req, pathname) => (issuer ? issuer.matches(pathname) : pathname === TOKEN_PATH),
    handle: (req, res, pathname) => (issuer ? issuer.handle(req, res, pathname, origin) : noIssuer(req, res)),
  };
}
