/**
 * What `npm run publish` and `npm run moderate` print and exit with (scripts/backend-client.ts's
 * runBackendCommand), for each answer of a stand-in backend API on 127.0.0.1: the answer as
 * pretty JSON and 0; `<command> failed: <status> <code>: <message>` (or the gateway's message)
 * and 1; the usage and 2 for a wrong command line.
 */
import { expect } from 'chai';
import { MODERATE } from '../../../scripts/moderate';
import { PUBLISH } from '../../../scripts/publish';
import { runAgainst, startFakeBackend, type FakeBackend } from './backend-server';

describe('npm run publish and npm run moderate: output and exit codes (scripts/backend-client.ts)', () => {
  let backend: FakeBackend;
  const publish = (...argv: string[]) => runAgainst(backend, PUBLISH, ['--local', ...argv]);

  before(async () => {
    backend = await startFakeBackend();
  });
  after(() => backend.close());
  beforeEach(() => backend.reset());

  it('prints the answer as pretty JSON and exits 0', async () => {
    // Prepare
    const message = { id: 'm-1', room: 'lobby', name: 'ops', text: 'hi', sentAt: '2026-01-01T00:00:00.000Z', backend: true };
    backend.answer = { status: 200, body: JSON.stringify({ message, repeat: false }) };

    // Act
    const { code, stdout, stderr } = await publish('--room', 'lobby', '--text', 'hi');

    // Assess
    expect(code).to.equal(0);
    expect(stdout).to.equal(`${JSON.stringify({ message, repeat: false }, null, 2)}\n`);
    expect(stderr).to.equal('');
  });

  for (const [status, body, line] of [
    [400, '{"code":"invalid_request","message":"room is invalid"}', 'publish failed: 400 invalid_request: room is invalid\n'],
    [429, '{"code":"rate_limited","message":"slow down"}', 'publish failed: 429 rate_limited: slow down\n'],
    [403, '{"message":"Forbidden"}', 'publish failed: 403 Forbidden\n'],
    [502, 'Bad Gateway', 'publish failed: 502 Bad Gateway\n'],
  ] as const) {
    it(`says "${line.trim()}" on stderr and exits 1`, async () => {
      // Prepare
      backend.answer = { status, body };

      // Act
      const { code, stdout, stderr } = await publish('--room', 'lobby', '--text', 'hi');

      // Assess
      expect(code).to.equal(1);
      expect(stderr).to.equal(line);
      expect(stdout).to.equal('');
    });
  }

  it('names moderate, and a message that does not exist, in its failure', async () => {
    // Prepare
    backend.answer = { status: 404, body: '{"code":"not_found","message":"no message m-9 in lobby"}' };

    // Act
    const { code, stderr } = await runAgainst(backend, MODERATE, ['delete', '--local', '--room', 'lobby', '--id', 'm-9']);

    // Assess
    expect(code).to.equal(1);
    expect(stderr).to.equal('moderate failed: 404 not_found: no message m-9 in lobby\n');
  });

  it('exits 2 with the usage on a wrong command line, and sends nothing', async () => {
    // Act
    const { code, stderr } = await runAgainst(backend, MODERATE, ['kick', '--local', '--room', 'lobby']);

    // Assess
    expect(code).to.equal(2);
    expect(stderr).to.include('npm run moderate: unknown operation "kick"');
    expect(stderr).to.include('Usage: npm run moderate -- delete');
    expect(stderr).to.include('--local');
    expect(backend.received).to.deep.equal([]);
  });

  it('prints the usage on --help and exits 0, sending nothing', async () => {
    // Act
    const { code, stdout } = await publish('--help');

    // Assess
    expect(code).to.equal(0);
    expect(stdout).to.include('Usage: npm run publish -- --room ROOM --text TEXT');
    expect(backend.received).to.deep.equal([]);
  });

  it('says which URL it could not reach, and exits 1', async () => {
    // Prepare: the port of a server that is gone.
    const gone = await startFakeBackend();
    await gone.close();

    // Act
    const { code, stderr } = await runAgainst(gone, PUBLISH, ['--local', '--room', 'lobby', '--text', 'hi']);

    // Assess
    expect(code).to.equal(1);
    expect(stderr).to.match(new RegExp(`^publish failed: cannot reach http://127.0.0.1:${gone.port}/backend/messages .*ECONNREFUSED`));
  });
});
