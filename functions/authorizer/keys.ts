/**
 * The issuer's signing keys, fetched once per sandbox and kept across invocations (a
 * WebSocket API does not cache authorizer results, so this runs on every connect): jose's
 * remote JWKS keeps the keys in memory, and fetches again only for a key id it has not
 * seen (at most every 30 s) or after 10 minutes.
 */
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import type { AuthConfig } from './config';

/** Bounds each fetch of the discovery document or the keys: an authorizer has 10 s in all. */
const FETCH_TIMEOUT_MS = 3000;

/** The keys' URL from the issuer's OpenID Connect discovery document. */
async function discoverJwksUrl(issuer: string): Promise<URL> {
  const where = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const response = await fetch(where, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`OpenID Connect discovery: ${where} answered ${response.status}`);
  const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
  if (document.issuer !== issuer) {
    throw new Error(`OpenID Connect discovery: ${where} names issuer ${JSON.stringify(document.issuer)}, not ${issuer}`);
  }
  if (typeof document.jwks_uri !== 'string') throw new Error(`OpenID Connect discovery: ${where} has no jwks_uri`);
  return new URL(document.jwks_uri);
}

/** A key resolver for jwtVerify; discovery (when no JWKS URL is configured) waits for the first token. */
export function issuerKeys(config: AuthConfig): JWTVerifyGetKey {
  let remote: JWTVerifyGetKey | undefined;
  let url: Promise<URL> | undefined;
  return async (header, token) => {
    if (remote === undefined) {
      // A failed discovery is tried again by the next invocation.
      url ??= config.jwksUrl
        ? Promise.resolve(config.jwksUrl)
        : discoverJwksUrl(config.issuer).catch((e: unknown) => {
            url = undefined;
            throw e;
          });
      remote = createRemoteJWKSet(await url, {
        timeoutDuration: FETCH_TIMEOUT_MS,
        cooldownDuration: 30_000,
        cacheMaxAge: 10 * 60_000,
      });
    }
    return remote(header, token);
  };
}
