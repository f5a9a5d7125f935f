/**
 * The authorizer's settings, read from its environment once, at cold start, with one clear
 * error naming every problem. template.yaml sets them from AuthMode and the identity
 * parameters; locally only their URLs differ (the local runtime is the issuer).
 */

/** What each AuthMode expects of a token: the claims listing its rooms and its groups (moderators), and its token use. */
export const AUTH_MODES = {
  /** Cognito ID tokens: they carry the profile (name, email, username) the chat shows; groups are rooms, and one is the moderators'. */
  cognito: { roomsClaim: 'cognito:groups', groupsClaim: 'cognito:groups', tokenUse: 'id' },
  /** Any OpenID Connect issuer; its audience parameter says which tokens are for the chat. */
  oidc: { roomsClaim: 'rooms', groupsClaim: 'groups', tokenUse: undefined },
} as const satisfies Record<string, { roomsClaim: string; groupsClaim: string; tokenUse: string | undefined }>;

export type AuthMode = keyof typeof AUTH_MODES;

export interface AuthConfig {
  mode: AuthMode;
  /** The `iss` every token must carry (compared as a string, as OpenID Connect says). */
  issuer: string;
  /** Tokens must name one of these in `aud`. */
  audience: string[];
  /** The issuer's keys; undefined: found through the issuer's OpenID Connect discovery document. */
  jwksUrl: URL | undefined;
  /** The group of the token's groups claim whose members moderate (MODERATORS_GROUP); empty: nobody by token. */
  moderatorsGroup: string;
}

const isMode = (value: string | undefined): value is AuthMode => value !== undefined && Object.hasOwn(AUTH_MODES, value);

function httpUrl(value: string): URL | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * AUTH_MODE `none`: the stack connects without tokens and deploys no authorizer (its Condition is
 * AuthEnabled). Only `sam local invoke` runs it then, with the template's default AuthMode; the
 * function loads, and answers every request with an error that says so.
 */
export const NO_AUTHORIZER = 'none';

export function loadAuthConfig(env: NodeJS.ProcessEnv): AuthConfig | typeof NO_AUTHORIZER {
  const problems: string[] = [];
  const {
    AUTH_MODE: mode,
    TOKEN_ISSUER: issuer = '',
    TOKEN_AUDIENCE: audience = '',
    TOKEN_JWKS_URL: jwks = '',
    MODERATORS_GROUP: moderatorsGroup = '',
  } = env;
  if (mode === NO_AUTHORIZER) return NO_AUTHORIZER;
  if (!isMode(mode)) problems.push(`AUTH_MODE must be ${Object.keys(AUTH_MODES).join(' or ')}, got ${JSON.stringify(mode ?? '')}`);
  if (httpUrl(issuer) === undefined) problems.push(`TOKEN_ISSUER must be the issuer's https:// URL, got ${JSON.stringify(issuer)}`);
  const audiences = audience
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  if (audiences.length === 0) problems.push('TOKEN_AUDIENCE must name the audience (client id) tokens are issued for');
  const jwksUrl = jwks === '' ? undefined : httpUrl(jwks);
  if (jwks !== '' && jwksUrl === undefined) problems.push(`TOKEN_JWKS_URL must be an https:// URL, got ${JSON.stringify(jwks)}`);
  if (problems.length > 0 || !isMode(mode)) {
    const where =
      env.AWS_SAM_LOCAL === 'true'
        ? '. Under sam local invoke, these come from --env-vars events/env.json: fill it from the stack with npm run fill-env (README, sam local invoke)'
        : '. template.yaml sets them from AuthMode and the identity parameters';
    throw new Error(`authorizer: invalid environment (${problems.join('; ')})${where}`);
  }
  return { mode, issuer, audience: audiences, jwksUrl, moderatorsGroup: moderatorsGroup.trim() };
}
