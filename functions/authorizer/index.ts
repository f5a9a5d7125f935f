import { createAuthorizer } from './authorizer';
import { loadAuthConfig } from './config';

/**
 * The REQUEST authorizer of $connect (AuthMode cognito or oidc): see authorizer.ts. Its
 * environment is read here, at cold start, so a misconfigured stack fails with one clear
 * error before any client is answered.
 */
export const handler = createAuthorizer(loadAuthConfig(process.env));
