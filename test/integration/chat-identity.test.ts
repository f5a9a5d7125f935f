/**
 * The chat with AuthMode=cognito behind the local runtime: template.yaml's authorizer
 * (functions/authorizer) on $connect, the runtime as the user pool's token issuer
 * (local/src/cognito/token-issuer.ts), real ws clients presenting tokens by query string and by
 * subprotocol. AuthMode=none (the default) is what every other chat-*.test.ts and
 * tutorial.test.ts run, frame fields compared exactly (no userId there).
 */
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { expect } from 'chai';
import { SignJWT, generateKeyPair } from 'jose';
import type { LocalTokenIssuer, TokenRequest } from '../../local/src/index';
import { CHAT_V1, ChatRuntime, expectSilence, nextFrame, nextText, refusalOf, say, uniqueRoom } from './chat-helpers';
import { connect, PROJECT_TEMPLATE, type Client } from './helpers';

describe('chat with identity (AuthMode=cognito, template.yaml, the local issuer)', function () {
  this.timeout(60_000);
  const chat = new ChatRuntime();
  let issuer: LocalTokenIssuer;
  const opened: Client[] = [];

  const token = async (request: TokenRequest): Promise<{ token: string; sub: string }> => issuer.issue(request);
  const url = (query: Record<string, string>): string => `${chat.runtime.wsUrl}?${new URLSearchParams(query).toString()}`;
  const invocations = (functionId: string): number => chat.runtime.stats()[functionId]?.invocations ?? 0;

  /** Joins with the token as a browser presents it (a token.<jwt> subprotocol beside chat.v1). */
  async function signIn(room: string, presented: string, query: Record<string, string> = {}): Promise<Client> {
    const client = await connect(url({ room, ...query }), { protocols: [CHAT_V1, `token.${presented}`] } as never);
    opened.push(client);
    expect(client.ws.protocol, 'only chat.v1 is answered').to.equal(CHAT_V1);
    return client;
  }

  before(async () => {
    await chat.start({ parameterOverrides: { AuthMode: 'cognito' }, prewarm: true });
    const running = chat.runtime.issuer;
    if (!running) throw new Error('the runtime plays no token issuer with AuthMode=cognito');
    issuer = running;
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close()));
  });

  after(() => chat.stop());

  describe('refusals', () => {
    it('no token: 401, and $connect never runs', async () => {
      const before = invocations('ConnectFunction');
      expect(await refusalOf(chat.runtime.wsUrl)).to.deep.equal({ status: 401, body: '{"message":"Unauthorized"}' });
      expect(await refusalOf(chat.runtime.wsUrl, [CHAT_V1])).to.deep.equal({ status: 401, body: '{"message":"Unauthorized"}' });
      expect(invocations('ConnectFunction')).to.equal(before);
    });

    it('an expired token: 401', async () => {
      const { token: expired } = await token({ name: 'alice', expiresInSeconds: -60 });
      expect((await refusalOf(url({ token: expired }))).status).to.equal(401);
    });

    it('a tampered token (another name in its payload): 401', async () => {
      const [header, payload, signature] = (await token({ name: 'alice' })).token.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
      const forged = Buffer.from(JSON.stringify({ ...claims, name: 'admin' })).toString('base64url');
      expect((await refusalOf(url({ token: `${header}.${forged}.${signature}` }))).status).to.equal(401);
    });

    it("a token with the issuer's claims signed by another key: 401", async () => {
      const genuine = JSON.parse(
        Buffer.from((await token({ name: 'alice' })).token.split('.')[1] as string, 'base64url').toString('utf8'),
      ) as Record<string, string>;
      const { privateKey } = await generateKeyPair('RS256');
      const forged = await new SignJWT({ ...genuine }).setProtectedHeader({ alg: 'RS256', kid: 'not-the-issuers' }).sign(privateKey);
      expect((await refusalOf(url({ token: forged }))).status).to.equal(401);
    });

    it('a room the token does not list: 403, and nobody in that room hears of it', async () => {
      const room = uniqueRoom('ops');
      const member = await signIn(room, (await token({ name: 'carol', rooms: [room] })).token);
      const { token: other } = await token({ name: 'mallory', rooms: ['lobby'] });
      expect(await refusalOf(url({ room, token: other }))).to.deep.equal({ status: 403, body: `your sign-in does not allow room ${room}` });
      await expectSilence(member, 'the room mallory may not join');
    });
  });

  describe('identity', () => {
    it('takes the name from the token, ignoring ?name=, and lets a token that lists rooms into them', async () => {
      const room = uniqueRoom('named');
      const issued = await token({ name: 'Alice Liddell', rooms: [room, 'elsewhere'] });
      const alice = await signIn(room, issued.token, { name: 'mallory' });
      alice.send({ action: 'members' });
      expect(await nextFrame(alice, 'members')).to.deep.equal({
        type: 'members',
        room,
        members: [{ name: 'Alice Liddell', userId: issued.sub }],
        hasMore: false,
      });
    });

    it('puts userId on message, presence and members entries, and on history', async () => {
      const room = uniqueRoom('ids');
      const alice = await token({ name: 'alice' });
      const bob = await token({ name: 'bob' });
      const a = await signIn(room, alice.token);
      const b = await signIn(room, bob.token);
      expect(await nextFrame(a, 'presence')).to.deep.equal({ type: 'presence', event: 'join', room, name: 'bob', userId: bob.sub });

      const sent = await say(a, 'hello with an id');
      expect(sent).to.include({ name: 'alice', userId: alice.sub });
      expect(await nextFrame(b, 'message')).to.deep.equal(sent);
      b.send({ action: 'history', limit: 10 });
      expect((await nextFrame(b, 'history')).messages).to.deep.equal([
        { id: sent.id, room, name: 'alice', text: 'hello with an id', sentAt: sent.sentAt, userId: alice.sub },
      ]);

      await b.close();
      expect(await nextFrame(a, 'presence')).to.deep.equal({ type: 'presence', event: 'leave', room, name: 'bob', userId: bob.sub });
    });

    it('keeps two people with one name apart by userId', async () => {
      const room = uniqueRoom('twins');
      const first = await token({ name: 'Sam' });
      const second = await token({ name: 'Sam' });
      const one = await signIn(room, first.token);
      const two = await signIn(room, second.token);
      await nextFrame(one, 'presence');

      const fromOne = await say(one, 'from the first Sam');
      expect(await nextFrame(two, 'message')).to.include({ userId: first.sub, text: 'from the first Sam' });
      const fromTwo = await say(two, 'from the second Sam');
      expect(await nextFrame(one, 'message')).to.include({ userId: second.sub, text: 'from the second Sam' });
      expect([fromOne.userId, fromTwo.userId]).to.deep.equal([first.sub, second.sub]);
      one.send({ action: 'members' });
      const { members } = await nextFrame(one, 'members');
      expect(members).to.have.deep.members([
        { name: 'Sam', userId: first.sub },
        { name: 'Sam', userId: second.sub },
      ]);
    });

    it("serves a plain client that presents ?token= the tutorial's raw text", async () => {
      const room = uniqueRoom('plain');
      const plain = await connect(url({ room, token: (await token({ name: 'pat' })).token }));
      opened.push(plain);
      const sender = await signIn(room, (await token({ name: 'quinn' })).token);
      sender.send({ action: 'sendmessage', message: 'hello, everyone!' });
      expect(await nextText(plain, 'the raw text')).to.equal('hello, everyone!');
    });
  });

  describe('the local issuer', () => {
    it('npm run token prints, on its last line, a token this runtime accepts', async () => {
      const room = uniqueRoom('cli');
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'local/src/cli/token.ts', '--name', 'Dana', '--rooms', room, '--expires-in', '120'],
        {
          cwd: dirname(PROJECT_TEMPLATE),
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code, out).to.equal(0);
      const printed = out.trimEnd().split('\n').pop() as string;

      const dana = await connect(url({ room, token: printed }), { protocols: [CHAT_V1] } as never);
      opened.push(dana);
      dana.send({ action: 'members' });
      expect((await nextFrame(dana, 'members')).members)
        .to.have.length(1)
        .and.to.have.nested.property('[0].name', 'Dana');
      expect((await refusalOf(url({ room: 'lobby', token: printed }))).status, 'its rooms hold').to.equal(403);
    });

    it('POST /_local/token issues a token for the page; GET describes the issuer; bad requests get a specific 400', async () => {
      const endpoint = new URL('/_local/token', chat.runtime.httpUrl);
      const issued = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Eve' }),
      });
      expect(issued.status).to.equal(200);
      const { token: fromPage, sub } = (await issued.json()) as { token: string; sub: string };
      const eve = await signIn(uniqueRoom('page'), fromPage);
      eve.send({ action: 'members' });
      expect((await nextFrame(eve, 'members')).members).to.deep.equal([{ name: 'Eve', userId: sub }]);

      const described = (await (await fetch(endpoint)).json()) as Record<string, unknown>;
      expect(described).to.deep.equal({ issuer: issuer.issuer, audience: described.audience, poolId: described.poolId });
      expect(issuer.issuer).to.equal(`https://cognito-idp.us-east-1.amazonaws.com/${String(described.poolId)}`);

      const bad = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: '', rooms: 'lobby' }),
      });
      expect(bad.status).to.equal(400);
      expect(await bad.json()).to.deep.equal({ message: 'name must be 1-128 characters; rooms must be a list of room names' });
    });

    it('refuses token requests from another origin (403)', async () => {
      const refused = await fetch(new URL('/_local/token', chat.runtime.httpUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'https://elsewhere.example.com' },
        body: JSON.stringify({ name: 'Eve' }),
      });
      expect(refused.status).to.equal(403);
    });

    it("serves the pool's keys as a JWKS where the authorizer's environment points", async () => {
      const env = chat.runtime.template.functions.get('AuthorizerFunction')?.environment ?? {};
      expect(env.TOKEN_JWKS_URL).to.match(
        /^https:\/\/cognito-idp\.us-east-1\.amazonaws\.com\/us-east-1_[A-Za-z0-9]{9}\/\.well-known\/jwks\.json$/,
      );
      const local = env.TOKEN_JWKS_URL?.replace(
        'https://cognito-idp.us-east-1.amazonaws.com',
        `${chat.runtime.httpUrl}cognito-idp`,
      ) as string;
      const jwks = (await (await fetch(local)).json()) as { keys: { kid: string; kty: string; d?: string }[] };
      expect(jwks.keys).to.have.length(1);
      expect(jwks.keys[0]).to.include({ kty: 'RSA', alg: 'RS256', use: 'sig' }).and.not.have.property('d');
    });
  });
});
