/**
 * Backends and moderators through the local runtime (README "Backends and moderators"): the
 * backend HTTP API of template.yaml served by the runtime, which verifies SigV4 as API Gateway
 * does; `npm run publish` and `npm run moderate` as a person runs them (their command lines,
 * signing with the local credentials); real WebSocket clients in the room.
 */
import { expect } from 'chai';
import { localSigner } from '../../local/src/index';
import { runBackendCommand } from '../../scripts/backend-client';
import { MODERATE } from '../../scripts/moderate';
import { PUBLISH } from '../../scripts/publish';
import {
  CHAT_V1,
  ChatRuntime,
  type MessageFrame,
  expectError,
  expectSilence,
  history,
  nextFrame,
  nextText,
  refusalOf,
  say,
  uniqueRoom,
} from './chat-helpers';
import { type Client, connect } from './helpers';

interface Ran {
  code: number;
  out: string;
  err: string;
}

/** A command line of `npm run publish` / `npm run moderate`, against this runtime (`--local`, at its URL). */
async function command(which: typeof PUBLISH | typeof MODERATE, url: string, args: string[]): Promise<Ran> {
  let out = '';
  let err = '';
  const code = await runBackendCommand(which as typeof PUBLISH, [...args, '--local', '--url', url], {
    stdout: (text) => (out += text),
    stderr: (text) => (err += text),
  });
  return { code, out, err };
}

describe('backends and moderators (the backend API, npm run publish and moderate)', function () {
  this.timeout(60_000);

  describe('AuthMode none (npm start as it starts)', () => {
    const chat = new ChatRuntime();
    let backend: string;

    before(async () => {
      await chat.start({ prewarm: true });
      backend = chat.runtime.httpApis.find((api) => api.logicalId === 'BackendApi')?.url ?? '';
      expect(backend).to.match(/^http:\/\/127\.0\.0\.1:\d+\/backend$/);
    });
    afterEach(() => chat.closeClients());
    after(() => chat.stop());

    it('npm run publish reaches every member of the room (chat.v1 and plain) and its history, marked backend', async () => {
      // Prepare
      const room = uniqueRoom('publish');
      // The plain member first: the chat.v1 one, joining after, hears of no join.
      const bob = await chat.join({ room, name: 'bob' });
      const ada = await chat.join({ room, name: 'ada', v1: true });
      const elsewhere = await chat.join({ room: uniqueRoom('other'), v1: true });

      // Act
      const ran = await command(PUBLISH, backend, ['--room', room, '--text', 'The build is green.', '--name', 'ci-bot', '--id', 'build-1']);

      // Assess
      expect(ran.code, ran.err).to.equal(0);
      const answer = JSON.parse(ran.out) as { message: MessageFrame; repeat: boolean };
      expect(answer.repeat).to.equal(false);
      const frame = await nextFrame(ada, 'message', 'the published message');
      expect(frame).to.deep.include({ room, name: 'ci-bot', text: 'The build is green.', backend: true, id: answer.message.id });
      expect(await nextText(bob, 'the plain text')).to.equal('The build is green.');
      await expectSilence(elsewhere, 'another room');
      const page = await history(ada);
      expect(page.messages.map((m) => m.id)).to.deep.equal([answer.message.id]);
      expect(page.messages[0]).to.deep.include({ backend: true, name: 'ci-bot' });
    });

    it('a repeat of an id stores and sends nothing new and answers the original', async () => {
      // Prepare
      const room = uniqueRoom('repeat');
      const ada = await chat.join({ room, v1: true });
      const first = await command(PUBLISH, backend, ['--room', room, '--text', 'once', '--id', 'job-7']);
      await nextFrame(ada, 'message', 'the first');

      // Act
      const again = await command(PUBLISH, backend, ['--room', room, '--text', 'once', '--id', 'job-7']);

      // Assess
      expect(again.code, again.err).to.equal(0);
      expect(JSON.parse(again.out)).to.deep.include({ repeat: true });
      expect((JSON.parse(again.out) as { message: { id: string } }).message.id).to.equal(
        (JSON.parse(first.out) as { message: { id: string } }).message.id,
      );
      await expectSilence(ada, 'the repeat');
    });

    it('an unsigned or wrongly signed publish gets 403 and reaches no one', async () => {
      // Prepare
      const room = uniqueRoom('unsigned');
      const ada = await chat.join({ room, v1: true });
      const body = JSON.stringify({ room, text: 'forged' });
      const url = new URL(`${backend}/messages`);
      const signer = localSigner({ accessKeyId: 'local', secretAccessKey: 'not-the-secret' }, 'execute-api', 'us-east-1');
      const signed = await signer.sign({
        method: 'POST',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: url.pathname,
        headers: { host: url.host, 'content-type': 'application/json' },
        body,
      });

      // Act
      const unsigned = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const wrong = await fetch(url, { method: 'POST', headers: signed.headers as Record<string, string>, body });

      // Assess
      expect(unsigned.status).to.equal(403);
      expect(await unsigned.json()).to.deep.equal({ message: 'Forbidden' });
      expect(wrong.status).to.equal(403);
      await expectSilence(ada, 'a forged publish');
      expect((await history(ada)).messages).to.deep.equal([]);
    });

    it('says what is wrong with a bad publish: 400 and its reason, on stderr, exit 1', async () => {
      // Act
      const tooLong = await command(PUBLISH, backend, ['--room', 'lobby', '--text', 'x'.repeat(5000)]);

      // Assess
      expect(tooLong.code).to.equal(1);
      expect(tooLong.err).to.equal('publish failed: 400 message_too_long: text is 5000 bytes; the limit is 4096 UTF-8 bytes\n');
    });

    it('npm run moderate delete: every member gets deleted, history keeps the place without the text', async () => {
      // Prepare
      const room = uniqueRoom('delete');
      const bob = await chat.join({ room, name: 'bob' });
      const ada = await chat.join({ room, name: 'ada', v1: true });
      const said = await say(ada, 'something regrettable');
      await nextText(bob, 'the message');
      const kept = await say(ada, 'something fine');
      await nextText(bob, 'the second');

      // Act
      const ran = await command(MODERATE, backend, ['delete', '--room', room, '--id', said.id]);

      // Assess
      expect(ran.code, ran.err).to.equal(0);
      expect(JSON.parse(ran.out)).to.deep.equal({ op: 'delete', room, id: said.id });
      expect(await nextFrame(ada, 'deleted', 'the deletion')).to.deep.equal({ type: 'deleted', room, id: said.id });
      expect(await nextText(bob, 'the deletion, in words')).to.equal(`(a moderator deleted message ${said.id})`);
      const page = await history(ada);
      expect(page.messages.map((m) => [m.id, m.text, (m as { deleted?: true }).deleted])).to.deep.equal([
        [said.id, '', true],
        [kept.id, 'something fine', undefined],
      ]);
      expect(page.messages[1]?.prevId, 'the chain stays whole').to.equal(said.id);
    });

    it('npm run moderate delete of an id the room does not have: 404 not_found', async () => {
      // Act
      const ran = await command(MODERATE, backend, ['delete', '--room', uniqueRoom('none'), '--id', '01HQ3Z9V5X8G2M4N6P7R8S0001']);

      // Assess
      expect(ran.code).to.equal(1);
      expect(ran.err).to.match(/^moderate failed: 404 not_found: room \S+ has no message 01HQ3Z9V5X8G2M4N6P7R8S0001\n$/);
    });

    it('a moderate action over the WebSocket without a moderator token gets forbidden, and deletes nothing', async () => {
      // Prepare
      const room = uniqueRoom('forbidden');
      const ada = await chat.join({ room, v1: true });
      const said = await say(ada, 'mine');

      // Act
      const error = await expectError(ada, { action: 'moderate', op: 'delete', id: said.id }, 'forbidden');

      // Assess
      expect(error.message).to.equal(`only moderators may delete in room ${room}`);
      expect((await history(ada)).messages[0]?.text).to.equal('mine');
    });
  });

  describe('AuthMode cognito: bans and moderators by token', () => {
    const chat = new ChatRuntime();
    let backend: string;
    const opened: Client[] = [];

    const token = async (name: string, rooms?: string[]): Promise<{ token: string; sub: string }> => {
      const issuer = chat.runtime.issuer;
      if (!issuer) throw new Error('no local issuer');
      return issuer.issue({ name, ...(rooms && { rooms }) });
    };
    const url = (room: string, presented: string): string => `${chat.runtime.wsUrl}?${new URLSearchParams({ room, token: presented })}`;
    const signIn = async (room: string, presented: string): Promise<Client> => {
      const client = await connect(url(room, presented), { protocols: [CHAT_V1] } as never);
      opened.push(client);
      return client;
    };

    before(async () => {
      await chat.start({ parameterOverrides: { AuthMode: 'cognito' }, prewarm: true });
      backend = chat.runtime.httpApis.find((api) => api.logicalId === 'BackendApi')?.url ?? '';
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((client) => client.close()));
    });
    after(() => chat.stop());

    it('npm run moderate ban: the open connection is told why and closed, the next $connect to that room is refused 403 until unban', async () => {
      // Prepare
      const room = uniqueRoom('ban');
      const bob = await token('bob');
      const connection = await signIn(room, bob.token);
      const elsewhere = uniqueRoom('elsewhere');

      // Act
      const ran = await command(MODERATE, backend, ['ban', '--room', room, '--user', bob.sub, '--for', '1h']);

      // Assess
      expect(ran.code, ran.err).to.equal(0);
      expect(JSON.parse(ran.out)).to.deep.include({ op: 'ban', room, user: bob.sub, closed: 1 });
      const notice = await nextFrame(connection, 'error', 'the ban notice');
      expect(notice).to.deep.include({ code: 'banned' });
      expect(notice.message).to.match(new RegExp(`^you are banned from room ${room} by a moderator until \\d{4}-`));
      await connection.closed;
      const refused = await refusalOf(url(room, bob.token));
      expect(refused.status).to.equal(403);
      expect(refused.body).to.include(`you are banned from room ${room}`);
      const other = await signIn(elsewhere, bob.token);
      expect(other.ws.protocol, 'other rooms take them').to.equal(CHAT_V1);

      const lifted = await command(MODERATE, backend, ['unban', '--room', room, '--user', bob.sub]);
      expect(lifted.code, lifted.err).to.equal(0);
      expect((await signIn(room, bob.token)).ws.protocol).to.equal(CHAT_V1);
    });

    it('a member of the moderators group moderates over the WebSocket: check, delete; a member outside it gets forbidden', async () => {
      // Prepare
      const room = uniqueRoom('moderators');
      const mod = await signIn(room, (await token('mo', ['moderators'])).token);
      const ada = await signIn(room, (await token('ada')).token);
      await nextFrame(mod, 'presence', "ada's join");
      const said = await say(ada, 'spam spam spam');
      await nextFrame(mod, 'message', 'the spam');

      // Act
      mod.send({ action: 'moderate', op: 'check' });
      const check = await nextFrame(mod, 'moderation', 'check');
      mod.send({ action: 'moderate', op: 'delete', id: said.id });

      // Assess
      expect(check).to.deep.equal({ type: 'moderation', op: 'check', room, moderator: true });
      expect(await nextFrame(ada, 'deleted', 'the deletion')).to.deep.equal({ type: 'deleted', room, id: said.id });
      await expectError(ada, { action: 'moderate', op: 'delete', id: said.id }, 'forbidden');
    });
  });
});
