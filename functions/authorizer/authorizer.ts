/**
 * The $connect REQUEST authorizer: verifies the token a client presents (`?token=`, or a
 * `token.<jwt>` subprotocol) and answers API Gateway as it expects:
 *
 * - no token, or one that does not verify (signature, issuer, audience, expiry, not-before,
 *   algorithm): `Unauthorized` thrown, which API Gateway answers 401;
 * - a genuine token the chat cannot use (another token use, no subject, no display name):
 *   a Deny policy, answered 403;
 * - otherwise an Allow policy whose context is the identity (subject, display name, rooms),
 *   which every later event of the connection carries as `requestContext.authorizer`.
 *
 * Anything else (the issuer's keys out of reach) is logged as "authorizer failed" (the stack's
 * AuthorizerFailures metric and alarm count those lines) and thrown as is: API Gateway answers 500.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { IdentityClaimsError, encodeIdentity, identityFromClaims, presentedToken } from 'chat-core/identity';
import { errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { AUTH_MODES, type AuthConfig } from './config';
import { issuerKeys } from './keys';

/** The REQUEST authorizer event of a WebSocket $connect (what this function reads of it). */
export interface ConnectAuthorizerEvent {
  type: 'REQUEST';
  methodArn: string;
  headers?: Record<string, string | undefined> | null;
  queryStringParameters?: Record<string, string | undefined> | null;
  requestContext?: { connectionId?: string; requestId?: string };
}

export type ConnectAuthorizer = (event: ConnectAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;

/** Asymmetric algorithms only: `none` and shared-secret (HS*) tokens are refused. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** Clocks of the issuer and of Lambda may differ a little. */
const CLOCK_TOLERANCE_SECONDS = 5;

/** jose's errors that say the token is not good (rather than that its keys could not be fetched). */
const TOKEN_FAULTS = new Set<string>([
  errors.JWTExpired.code,
  errors.JWTClaimValidationFailed.code,
  errors.JWTInvalid.code,
  errors.JWSInvalid.code,
  errors.JWSSignatureVerificationFailed.code,
  errors.JOSEAlgNotAllowed.code,
  errors.JOSENotSupported.code,
  errors.JWKSNoMatchingKey.code,
  errors.JWKSMultipleMatchingKeys.code,
]);

const isTokenFault = (error: unknown): error is errors.JOSEError => error instanceof errors.JOSEError && TOKEN_FAULTS.has(error.code);

/** What API Gateway answers 401 for; the message must be exactly this. */
const unauthorized = (): Error => new Error('Unauthorized');

function policy(principalId: string, effect: 'Allow' | 'Deny', resource: string): APIGatewayAuthorizerResult {
  return {
    principalId,
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }] },
  };
}

function headerValue(headers: ConnectAuthorizerEvent['headers'], name: string): string | undefined {
  const wanted = name.toLowerCase();
  return Object.entries(headers ?? {}).find(([key]) => key.toLowerCase() === wanted)?.[1];
}

/**
 * The authorizer of a stack whose AuthMode is none (config.ts, NO_AUTHORIZER): it exists only
 * under `sam local invoke`, and says why it verifies nothing. API Gateway would answer 500.
 */
export function notDeployedAuthorizer(logger = new Logger()): ConnectAuthorizer {
  const problem = new Error(
    'AuthMode is none: this stack connects without tokens and deploys no authorizer. To invoke it, give it the ' +
      'environment of a stack with AuthMode cognito or oidc (npm run fill-env), or --parameter-overrides AuthMode=oidc ' +
      'with TOKEN_ISSUER and TOKEN_AUDIENCE in events/env.json',
  );
  return () => {
    logger.error('authorizer failed', problem);
    return Promise.reject(problem);
  };
}

export function createAuthorizer(config: AuthConfig, logger = new Logger(), keys: JWTVerifyGetKey = issuerKeys(config)): ConnectAuthorizer {
  const { roomsClaim, groupsClaim, tokenUse } = AUTH_MODES[config.mode];
  const moderation = { groupsClaim, moderatorsGroup: config.moderatorsGroup };
  return async (event) => {
    logger.appendKeys({ connectionId: event.requestContext?.connectionId, requestId: event.requestContext?.requestId });
    try {
      const token = presentedToken(event.queryStringParameters, headerValue(event.headers, 'Sec-WebSocket-Protocol'));
      if (token === undefined) {
        logger.info('refused: no token');
        throw unauthorized();
      }
      let claims: Record<string, unknown>;
      try {
        ({ payload: claims } = await jwtVerify(token, keys, {
          issuer: config.issuer,
          audience: config.audience,
          algorithms: ALGORITHMS,
          requiredClaims: ['exp'],
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
        }));
      } catch (error: unknown) {
        if (!isTokenFault(error)) throw error;
        logger.info('refused: the token does not verify', { code: error.code, reason: error.message });
        throw unauthorized();
      }
      const principal = typeof claims.sub === 'string' && claims.sub !== '' ? claims.sub : 'unidentified';
      if (tokenUse !== undefined && claims.token_use !== tokenUse) {
        logger.info('denied: wrong token use', { tokenUse: String(claims.token_use), expected: tokenUse });
        return policy(principal, 'Deny', event.methodArn);
      }
      try {
        const identity = identityFromClaims(claims, roomsClaim, moderation);
        logger.info('allowed', { userId: identity.userId, rooms: identity.rooms.length, moderator: identity.moderator });
        return { ...policy(identity.userId, 'Allow', event.methodArn), context: { ...encodeIdentity(identity) } };
      } catch (error: unknown) {
        if (!(error instanceof IdentityClaimsError)) throw error;
        logger.info('denied: the token does not identify anyone', { reason: error.message });
        return policy(principal, 'Deny', event.methodArn);
      }
    } catch (error: unknown) {
      // Unauthorized is a refusal, not a failure: Lambda counts both as errors, the alarm only this.
      if (!(error instanceof Error && error.message === 'Unauthorized')) logger.error('authorizer failed', error as Error);
      throw error;
    } finally {
      logger.removeKeys(['connectionId', 'requestId']);
    }
  };
}
