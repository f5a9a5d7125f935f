import { createAuthorizer, notDeployedAuthorizer } from './authorizer';
import { loadAuthConfig, NO_AUTHORIZER } from './config';

/**
 * The REQUEST authorizer of $connect (AuthMode cognito or oidc): see authorizer.ts. Its
 * environment is read here, at cold start, so a misconfigured stack fails with one clear
 * error before any client is answered. With AuthMode none (only under sam local invoke: such a
 * stack has no authorizer) it loads, and answers that it has nothing to verify.
 */
const config = loadAuthConfig(process.env);
export const handler = config === NO_AUTHORIZER ? notDeployedAuthorizer() : createAuthorizer(config);
