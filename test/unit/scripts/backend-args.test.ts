/**
 * The command lines of `npm run publish` (scripts/publish.ts) and `npm run moderate`
 * (scripts/moderate.ts): what each sends, and what each refuses before sending anything.
 */
import { expect } from 'chai';
import { UsageError } from '../../../scripts/backend-client';
import { checkDuration, parseModerateArgs } from '../../../scripts/moderate';
import { parsePublishArgs } from '../../../scripts/publish';
import { expectThrow } from '../helpers';

describe('npm run publish: its arguments (scripts/publish.ts)', () => {
  it('sends --room, --text, --name and --id as the body, and the endpoint options apart', () => {
    // Act
    const parsed = parsePublishArgs([
      '--room',
      'lobby',
      '--text',
      'hi all',
      '--name',
      'ops',
      '--id',
      'm-1',
      '--local',
      '--region',
      'eu-west-1',
    ]);

    // Assess
    expect(parsed).to.deep.equal({
      endpoint: { url: undefined, local: true, 'stack-name': undefined, region: 'eu-west-1', 'config-env': undefined },
      body: { room: 'lobby', text: 'hi all', name: 'ops', id: 'm-1' },
    });
  });

  it('leaves name and id out of the body when they are not given', () => {
    // Act
    const parsed = parsePublishArgs(['--room', 'lobby', '--text', 'hi', '--url', 'https://x.example/backend']);

    // Assess
    expect(parsed).to.not.equal('help');
    expect(parsed !== 'help' && parsed.body).to.deep.equal({ room: 'lobby', text: 'hi' });
    expect(parsed !== 'help' && parsed.endpoint.url).to.equal('https://x.example/backend');
  });

  for (const [argv, message] of [
    [['--text', 'hi'], '--room is required'],
    [['--room', 'lobby'], '--text is required'],
    [['--room', ' ', '--text', 'hi'], '--room must not be empty'],
    [['--room', 'lobby', '--text', 'hi', '--colour', 'red'], "Unknown option '--colour'"],
    [['--room', 'lobby', '--text', 'hi', 'extra'], "Unexpected argument 'extra'"],
    [['--room'], "Option '--room <value>' argument missing"],
  ] as const) {
    it(`refuses ${argv.join(' ')}: ${message}`, () => {
      // Act
      const error = expectThrow(() => parsePublishArgs([...argv]), UsageError);

      // Assess
      expect(error.message).to.include(message);
    });
  }

  it('answers --help without asking for --room or --text', () => {
    // Act
    const parsed = parsePublishArgs(['--help']);

    // Assess
    expect(parsed).to.equal('help');
  });
});

describe('npm run moderate: its arguments (scripts/moderate.ts)', () => {
  it('sends delete as {op, room, id}', () => {
    // Act
    const parsed = parseModerateArgs(['delete', '--room', 'lobby', '--id', '01HQ3Z9V5X8G2M4N6P7R8S9T0V']);

    // Assess
    expect(parsed !== 'help' && parsed.body).to.deep.equal({ op: 'delete', room: 'lobby', id: '01HQ3Z9V5X8G2M4N6P7R8S9T0V' });
  });

  it('sends ban with its duration as given (a string), and without one when there is no --for', () => {
    // Act
    const timed = parseModerateArgs(['ban', '--room', 'lobby', '--user', 'sub-1', '--for', '2h']);
    const open = parseModerateArgs(['--room', 'lobby', 'ban', '--user', 'sub-1']);
    const seconds = parseModerateArgs(['ban', '--room', 'lobby', '--user', 'sub-1', '--for', '3600']);

    // Assess
    expect(timed !== 'help' && timed.body).to.deep.equal({ op: 'ban', room: 'lobby', user: 'sub-1', for: '2h' });
    expect(open !== 'help' && open.body).to.deep.equal({ op: 'ban', room: 'lobby', user: 'sub-1' });
    expect(seconds !== 'help' && seconds.body).to.deep.include({ for: '3600' });
  });

  it('sends unban as {op, room, user}, with the endpoint options apart', () => {
    // Act
    const parsed = parseModerateArgs(['unban', '--room', 'lobby', '--user', 'sub-1', '--config-env', 'prod']);

    // Assess
    expect(parsed !== 'help' && parsed.body).to.deep.equal({ op: 'unban', room: 'lobby', user: 'sub-1' });
    expect(parsed !== 'help' && parsed.endpoint['config-env']).to.equal('prod');
  });

  it('takes 90s, 30m, 2h, 7d and a number of seconds as durations', () => {
    // Act
    const taken = ['90s', '30m', '2h', '7d', '45'].map(checkDuration);

    // Assess
    expect(taken).to.deep.equal(['90s', '30m', '2h', '7d', '45']);
  });

  for (const duration of ['0', '0s', '2w', '1.5h', '-5', 'h', '2 h', '']) {
    it(`refuses the duration ${JSON.stringify(duration)}`, () => {
      // Act
      const error = expectThrow(() => parseModerateArgs(['ban', '--room', 'lobby', '--user', 'sub-1', `--for=${duration}`]), UsageError);

      // Assess
      expect(error.message).to.include(`--for ${JSON.stringify(duration)} is not a duration`);
      expect(error.message).to.include('90s, 30m, 2h, 7d');
    });
  }

  for (const [argv, message] of [
    [['kick', '--room', 'lobby', '--user', 'sub-1'], 'unknown operation "kick": delete, ban or unban'],
    [['--room', 'lobby'], 'which operation'],
    [['delete', 'ban', '--room', 'lobby', '--id', 'm'], 'unexpected argument: ban'],
    [['delete', '--id', 'm'], '--room is required'],
    [['delete', '--room', 'lobby'], '--id is required'],
    [['ban', '--room', 'lobby'], '--user is required'],
    [['unban', '--room', 'lobby', '--user', 'sub-1', '--for', '2h'], 'unban takes no --for'],
    [['delete', '--room', 'lobby', '--id', 'm', '--user', 'sub-1'], 'delete takes no --user'],
    [['ban', '--room', 'lobby', '--user', 'sub-1', '--id', 'm'], 'ban takes no --id'],
  ] as const) {
    it(`refuses ${argv.join(' ')}: ${message}`, () => {
      // Act
      const error = expectThrow(() => parseModerateArgs([...argv]), UsageError);

      // Assess
      expect(error.message).to.include(message);
    });
  }
});
