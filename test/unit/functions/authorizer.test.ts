/**
 * The $connect authorizer against keys generated here and served by a small JWKS server
 * on 127.0.0.1 (the issuer), so that jose fetches and caches them as it does on Lambda.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { expect } from 'chai';
import { decodeIdentity } from 'chat-core';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import sinon from 'sinon';
import { createAuthorizer, notDeployedAuthorizer, type ConnectAuthorizer } from '../../../functions/authorizer/authorizer';
import { loadAuthConfig, NO_AUTHORIZER, type AuthConfig } from '../../../functions/authorizer/config';
import { expectRejection, expectThrow, loadAuthorizerEvent } from '../helpers';

const AUDIENCE = 'chat-page-client';
const quiet = new Logger({ logLevel: 'SILENT' });

interface Issuer {
  url: string;
  /** Requests the issuer served, by path. */
  served: string[];
  /** What the JWKS endpoint answers (200 with the keys by default). */
  jwksStatus: number;
  discoveryIssuer: string | undefined;
  close(): Promise<void>;
}

async function startIssuer(jwks: { keys: JWK[] }): Promise<Issuer> {
  const issuer: Partial<Issuer> & { served: string[]; jwksStatus: number } = { served: [], jwksStatus: 200, discoveryIssuer: undefined };
  const server: Server = createServer((req, res) => {
    issuer.served.push(req.url ?? '');
    if (req.url === '/.well-known/jwks.json' && issuer.jwksStatus === 200) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
    } else if (req.url === '/.well-known/openid-configuration') {
      const body = { issuer: issuer.discoveryIssuer ?? issuer.url, jwks_uri: `${issuer.url}/.well-known/jwks.json` };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    } else {
      res.writeHead(issuer.jwksStatus === 200 ? 404 : issuer.jwksStatus).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  issuer.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return issuer as Issuer;
}

describe('function: authorizer ($connect REQUEST authorizer)', () => {
  let issuer: Issuer;
  let signingKey: CryptoKey;
  let otherKey: CryptoKey;
  let config: AuthConfig;
  let authorize: ConnectAuthorizer;
  const now = (): number => Math.floor(Date.now() / 1000);

  /** An ID token as the issuer would sign it, with `claims` changed (undefined removes one). */
  function idToken(claims: Record<string, unknown> = {}, options: { key?: CryptoKey; kid?: string; alg?: string } = {}): Promise<string> {
    const payload: Record<string, unknown> = {
      sub: 'b1f6e1a0-0000-4000-8000-000000000001',
      aud: AUDIENCE,
      iss: issuer.url,
      token_use: 'id',
      name: 'Alice',
      iat: now(),
      exp: now() + 300,
      ...claims,
    };
    for (const [key, value] of Object.entries(payload)) if (value === undefined) delete payload[key];
    return new SignJWT(payload)
      .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.kid ?? 'key-1' })
      .sign(options.key ?? signingKey);
  }

  function eventWith(token: string | undefined, via: 'query' | 'subprotocol' = 'query'): ReturnType<typeof loadAuthorizerEvent> {
    const event = loadAuthorizerEvent();
    delete event.queryStringParameters.token;
    if (token !== undefined && via === 'query') event.queryStringParameters.token = token;
    if (token !== undefined && via === 'subprotocol') event.headers['Sec-WebSocket-Protocol'] = `chat.v1, token.${token}`;
    return event;
  }

  async function expectUnauthorized(token: string | undefined): Promise<void> {
    const error = await expectRejection(authorize(eventWith(token)));
    expect(error.message).to.equal('Unauthorized');
  }

  function expectDeny(result: APIGatewayAuthorizerResult): void {
    expect(result.policyDocument.Statement).to.deep.equal([
      { Action: 'execute-api:Invoke', Effect: 'Deny', Resource: loadAuthorizerEvent().methodArn },
    ]);
    expect(result.context).to.equal(undefined);
  }

  before(async () => {
    const pair = await generateKeyPair('RS256');
    signingKey = pair.privateKey;
    otherKey = (await generateKeyPair('RS256')).privateKey;
    issuer = await startIssuer({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' }] });
  });

  after(() => issuer.close());

  beforeEach(() => {
    issuer.served.length = 0;
    issuer.jwksStatus = 200;
    issuer.discoveryIssuer = undefined;
    config = {
      mode: 'cognito',
      issuer: issuer.url,
      audience: [AUDIENCE],
      jwksUrl: new URL(`${issuer.url}/.well-known/jwks.json`),
      moderatorsGroup: 'moderators',
    };
    authorize = createAuthorizer(config, quiet);
  });

  describe('a valid token', () => {
    it('allows the $connect (?token=) and passes subject, name and rooms as the policy context', async () => {
      // Prepare
      const event = eventWith(await idToken({ 'cognito:groups': ['general', 'ops'] }));

      // Act
      const result = await authorize(event);

      // Assess
      expect(result.principalId).to.equal('b1f6e1a0-0000-4000-8000-000000000001');
      expect(result.policyDocument).to.deep.equal({
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }],
      });
      expect(result.context).to.deep.equal({
        userId: 'b1f6e1a0-0000-4000-8000-000000000001',
        name: 'Alice',
        rooms: '["general","ops"]',
        moderator: 'false',
      });
      expect(
        Object.values(result.context ?? {}).every((v) => typeof v === 'string'),
        'context values are strings',
      ).to.equal(true);
      expect(decodeIdentity(result.context)).to.deep.equal({
        userId: 'b1f6e1a0-0000-4000-8000-000000000001',
        name: 'Alice',
        rooms: ['general', 'ops'],
        moderator: false,
      });
    });

    it('passes a member of the moderators group (MODERATORS_GROUP) as a moderator, its group not as a room', async () => {
      // Prepare
      const event = eventWith(await idToken({ 'cognito:groups': ['moderators', 'ops'] }));

      // Act
      const result = await authorize(event);

      // Assess
      expect(decodeIdentity(result.context)).to.deep.include({ rooms: ['ops'], moderator: true });
    });

    it('takes the token from a token.<jwt> subprotocol entry (browsers), beside chat.v1', async () => {
      // Act
      const result = await authorize(eventWith(await idToken(), 'subprotocol'));

      // Assess
      expect(result.policyDocument.Statement[0]).to.include({ Effect: 'Allow' });
      expect(result.context).to.include({ name: 'Alice', rooms: '[]' });
    });

    for (const [claims, expected] of [
      [{ name: 'Alice Liddell', preferred_username: 'alice', 'cognito:username': 'a1', email: 'a@example.com' }, 'Alice Liddell'],
      [{ name: undefined, preferred_username: 'alice', 'cognito:username': 'a1', email: 'a@example.com' }, 'alice'],
      [{ name: ' ', preferred_username: undefined, 'cognito:username': 'a1', email: 'a@example.com' }, 'a1'],
      [{ name: undefined, email: 'a@example.com' }, 'a@example.com'],
    ] as const) {
      it(`takes the display name from ${Object.entries(claims)
        .filter(([, v]) => v !== undefined)
        .map(([k]) => k)
        .join(', ')}: ${expected}`, async () => {
        // Act
        const result = await authorize(eventWith(await idToken(claims)));

        // Assess
        expect(result.context?.name).to.equal(expected);
      });
    }

    it('in oidc mode, reads the rooms from the rooms claim and checks no token use', async () => {
      // Prepare
      authorize = createAuthorizer({ ...config, mode: 'oidc' }, quiet);

      // Act
      const result = await authorize(eventWith(await idToken({ token_use: undefined, rooms: ['a'], 'cognito:groups': ['b'] })));

      // Assess
      expect(result.context?.rooms).to.equal('["a"]');
    });

    it("fetches the issuer's keys once and keeps them across invocations", async () => {
      // Act
      for (let i = 0; i < 3; i += 1) await authorize(eventWith(await idToken()));

      // Assess
      expect(issuer.served).to.deep.equal(['/.well-known/jwks.json']);
    });

    it("without a JWKS URL, finds the keys through the issuer's OpenID Connect discovery document (once)", async () => {
      // Prepare
      authorize = createAuthorizer({ ...config, jwksUrl: undefined }, quiet);

      // Act
      await authorize(eventWith(await idToken()));
      await authorize(eventWith(await idToken()));

      // Assess
      expect(issuer.served).to.deep.equal(['/.well-known/openid-configuration', '/.well-known/jwks.json']);
    });
  });

  describe('refused with 401 (Unauthorized thrown)', () => {
    it('no token at all, without fetching any key', async () => {
      await expectUnauthorized(undefined);
      expect(issuer.served).to.deep.equal([]);
    });

    it('a subprotocol header with chat.v1 only (no token entry)', async () => {
      const event = eventWith(undefined);
      event.headers['Sec-WebSocket-Protocol'] = 'chat.v1';
      expect((await expectRejection(authorize(event))).message).to.equal('Unauthorized');
    });

    it('an expired token', async () => {
      await expectUnauthorized(await idToken({ iat: now() - 3600, exp: now() - 60 }));
    });

    it('a token not yet valid (nbf in the future)', async () => {
      await expectUnauthorized(await idToken({ nbf: now() + 120 }));
    });

    it('a token of another issuer', async () => {
      await expectUnauthorized(await idToken({ iss: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other' }));
    });

    it('a token for another audience', async () => {
      await expectUnauthorized(await idToken({ aud: 'another-client' }));
    });

    it('a token signed with a key the issuer does not publish', async () => {
      await expectUnauthorized(await idToken({}, { key: otherKey, kid: 'key-2' }));
    });

    it('a token signed with another key under the published key id', async () => {
      await expectUnauthorized(await idToken({}, { key: otherKey }));
    });

    it('an unsigned token (alg: none)', async () => {
      const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
      const valid = await idToken();
      const claims = JSON.parse(Buffer.from(valid.split('.')[1] as string, 'base64url').toString('utf8')) as object;
      await expectUnauthorized(`${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`);
    });

    it('a token signed with a shared secret (HS256)', async () => {
      const secret = new TextEncoder().encode('a-shared-secret-anyone-could-have-guessed');
      const payload = { sub: 'mallory', aud: AUDIENCE, iss: issuer.url, token_use: 'id', name: 'Mallory', exp: now() + 300 };
      await expectUnauthorized(await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: 'key-1' }).sign(secret));
    });

    it('a tampered payload (another subject, the signature kept)', async () => {
      const [header, payload, signature] = (await idToken()).split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
      const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else', name: 'Bob' })).toString('base64url');
      await expectUnauthorized(`${header}.${forged}.${signature}`);
    });

    it('a token without an expiry (exp)', async () => {
      await expectUnauthorized(await idToken({ exp: undefined }));
    });

    it('something that is not a JWT', async () => {
      await expectUnauthorized('not-a-jwt');
    });
  });

  describe('refused with 403 (a Deny policy): genuine tokens the chat cannot use', () => {
    it('an access token where Cognito ID tokens are expected', async () => {
      expectDeny(await authorize(eventWith(await idToken({ token_use: 'access' }))));
    });

    it('a token without a subject', async () => {
      expectDeny(await authorize(eventWith(await idToken({ sub: undefined }))));
    });

    it('a token without any display name claim', async () => {
      expectDeny(await authorize(eventWith(await idToken({ name: undefined }))));
    });

    it('a token whose rooms claim is not a list of names', async () => {
      expectDeny(await authorize(eventWith(await idToken({ 'cognito:groups': 'general' }))));
    });
  });

  describe('failures of its own (API Gateway answers 500)', () => {
    it('rethrows when the issuer\'s keys cannot be fetched, rather than calling the token bad, and logs "authorizer failed"', async () => {
      // Prepare: the stack's AuthorizerFailures metric filter counts that log line
      issuer.jwksStatus = 503;
      const logger = new Logger({ logLevel: 'SILENT' });
      const logged = sinon.spy(logger, 'error');
      authorize = createAuthorizer(config, logger);

      // Act
      const error = await expectRejection(authorize(eventWith(await idToken())));

      // Assess
      expect(error.message).to.not.equal('Unauthorized');
      expect(logged.calledOnce).to.equal(true);
      expect(logged.firstCall.args[0]).to.equal('authorizer failed');
    });

    it('does not log a refused token as a failure', async () => {
      // Prepare
      const logger = new Logger({ logLevel: 'SILENT' });
      const logged = sinon.spy(logger, 'error');
      authorize = createAuthorizer(config, logger);

      // Act
      await expectRejection(authorize(eventWith(undefined)));

      // Assess
      expect(logged.called).to.equal(false);
    });

    it('rethrows when the discovery document names another issuer, and tries discovery again next time', async () => {
      // Prepare
      authorize = createAuthorizer({ ...config, jwksUrl: undefined }, quiet);
      issuer.discoveryIssuer = 'https://impostor.example.com';

      // Act
      const error = await expectRejection(authorize(eventWith(await idToken())));
      issuer.discoveryIssuer = undefined;
      const next = await authorize(eventWith(await idToken()));

      // Assess
      expect(error.message).to.match(/names issuer "https:\/\/impostor\.example\.com"/);
      expect(next.policyDocument.Statement[0]).to.include({ Effect: 'Allow' });
    });
  });

  describe('configuration (its environment)', () => {
    it('reads the mode, issuer, audiences and JWKS URL', () => {
      // Act
      const read = loadAuthConfig({
        AUTH_MODE: 'oidc',
        TOKEN_ISSUER: 'https://issuer.example.com',
        TOKEN_AUDIENCE: 'a, b',
        TOKEN_JWKS_URL: 'https://issuer.example.com/keys',
        MODERATORS_GROUP: ' mods ',
      });

      // Assess
      expect(read).to.deep.equal({
        mode: 'oidc',
        issuer: 'https://issuer.example.com',
        audience: ['a', 'b'],
        jwksUrl: new URL('https://issuer.example.com/keys'),
        moderatorsGroup: 'mods',
      });
    });

    it('names every problem in one error', () => {
      // Act
      const error = expectThrow(() => loadAuthConfig({ AUTH_MODE: 'cognito-ish', TOKEN_ISSUER: 'issuer', TOKEN_JWKS_URL: 'ftp://x' }));

      // Assess
      expect(error.message).to.equal(
        'authorizer: invalid environment (AUTH_MODE must be cognito or oidc, got "cognito-ish"; ' +
          'TOKEN_ISSUER must be the issuer\'s https:// URL, got "issuer"; ' +
          'TOKEN_AUDIENCE must name the audience (client id) tokens are issued for; ' +
          'TOKEN_JWKS_URL must be an https:// URL, got "ftp://x")' +
          '. template.yaml sets them from AuthMode and the identity parameters',
      );
    });

    it('says under sam local invoke that the values come from events/env.json and how to fill it', () => {
      // Act
      const error = expectThrow(() => loadAuthConfig({ AWS_SAM_LOCAL: 'true', AUTH_MODE: 'oidc', TOKEN_ISSUER: '' }));

      // Assess
      expect(error.message).to.include('TOKEN_ISSUER must be the issuer\'s https:// URL, got ""');
      expect(error.message).to.include('--env-vars events/env.json: fill it from the stack with npm run fill-env');
    });

    it('loads with AuthMode none (sam local invoke of a stack that has no authorizer) and refuses with the reason', async () => {
      // Act
      const config = loadAuthConfig({ AUTH_MODE: 'none', TOKEN_ISSUER: '', TOKEN_AUDIENCE: '' });
      const logger = new Logger({ logLevel: 'SILENT' });
      const errorLog = sinon.spy(logger, 'error');
      const refused = await expectRejection(notDeployedAuthorizer(logger)(loadAuthorizerEvent()));

      // Assess
      expect(config).to.equal(NO_AUTHORIZER);
      expect(refused.message).to.match(/^AuthMode is none: this stack connects without tokens and deploys no authorizer/);
      expect(errorLog.calledOnceWith('authorizer failed')).to.equal(true);
    });
  });
});
