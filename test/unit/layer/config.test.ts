import { expect } from 'chai';
import { CONNECTION_TTL_SECONDS, RATE_WINDOW_SECONDS, config, loadConfig } from 'chat-core';
import { expectThrow } from '../helpers';

/** The environment the template gives every function, as `test/setup.ts` sets it. */
const VALID: NodeJS.ProcessEnv = {
  CONNECTIONS_TABLE: 'connections-table',
  MESSAGES_TABLE: 'messages-table',
  CONNECTIONS_URL: 'https://abcdef123.execute-api.us-east-1.amazonaws.com/production',
};

describe('layer: config', () => {
  it('reads the environment test/setup.ts gives the functions, numbers coerced', () => {
    // Assess
    expect(config).to.deep.include({
      CONNECTIONS_TABLE: 'connections-table',
      MESSAGES_TABLE: 'messages-table',
      CONNECTIONS_URL: 'https://abcdef123.execute-api.us-east-1.amazonaws.com/production',
      MAX_MESSAGE_BYTES: 4096,
      MESSAGE_RETENTION_DAYS: 7,
      MESSAGE_RATE_LIMIT: 20,
      FANOUT_CONCURRENCY: 100,
      POST_TIMEOUT_MS: 3000,
    });
  });

  it('applies the defaults when only the required variables are set', () => {
    // Act
    const loaded = loadConfig(VALID);

    // Assess
    expect(loaded).to.deep.include({
      ...VALID,
      MAX_MESSAGE_BYTES: 4096,
      MESSAGE_RETENTION_DAYS: 7,
      MESSAGE_RATE_LIMIT: 20,
      FANOUT_CONCURRENCY: 100,
      FANOUT_THRESHOLD: 1000,
      FANOUT_SHARD_SIZE: 500,
      POST_TIMEOUT_MS: 3000,
    });
    expect(loaded.FANOUT_QUEUE_URL).to.equal(undefined);
  });

  it('coerces the numeric variables from their string form', () => {
    // Act
    const loaded = loadConfig({ ...VALID, MAX_MESSAGE_BYTES: '1024', FANOUT_CONCURRENCY: '7', POST_TIMEOUT_MS: '250' });

    // Assess
    expect(loaded.MAX_MESSAGE_BYTES).to.equal(1024);
    expect(loaded.FANOUT_CONCURRENCY).to.equal(7);
    expect(loaded.POST_TIMEOUT_MS).to.equal(250);
  });

  it('accepts a plain http endpoint (the local runtime)', () => {
    // Act
    const loaded = loadConfig({ ...VALID, CONNECTIONS_URL: 'http://127.0.0.1:3001/production' });

    // Assess
    expect(loaded.CONNECTIONS_URL).to.equal('http://127.0.0.1:3001/production');
  });

  it('names every missing variable in one clear error', () => {
    // Act
    const error = expectThrow(() => loadConfig({ MESSAGES_TABLE: 'messages-table' }), Error);

    // Assess
    expect(error.message).to.match(/^chat-core: invalid environment \(/);
    expect(error.message).to.include('CONNECTIONS_TABLE: ');
    expect(error.message).to.include('CONNECTIONS_URL: ');
    expect(error.message).not.to.include('MESSAGES_TABLE');
  });

  it('refuses an empty table name', () => {
    // Act
    const error = expectThrow(() => loadConfig({ ...VALID, CONNECTIONS_TABLE: '' }));

    // Assess
    expect(error.message).to.match(/^chat-core: invalid environment \(CONNECTIONS_TABLE: [^;]+\)$/);
  });

  it('refuses a Management API URL that is not http(s)', () => {
    // Act
    const error = expectThrow(() => loadConfig({ ...VALID, CONNECTIONS_URL: 'wss://abcdef123.execute-api.us-east-1.amazonaws.com/production' }));

    // Assess
    expect(error.message).to.match(/^chat-core: invalid environment \(CONNECTIONS_URL: [^;]+\)$/);
  });

  it('refuses numbers that are not numbers, not integers or out of range', () => {
    // Act
    const error = expectThrow(() =>
      loadConfig({ ...VALID, MAX_MESSAGE_BYTES: 'lots', MESSAGE_RETENTION_DAYS: '0', FANOUT_CONCURRENCY: '1.5', POST_TIMEOUT_MS: '10' }),
    );

    // Assess
    for (const name of ['MAX_MESSAGE_BYTES', 'MESSAGE_RETENTION_DAYS', 'FANOUT_CONCURRENCY', 'POST_TIMEOUT_MS']) {
      expect(error.message).to.include(`${name}: `);
    }
    expect(error.message.split('; ')).to.have.length(4);
  });

  it('keeps connections a margin past API Gateway\'s 2-hour limit and a 10 s rate window', () => {
    // Assess
    expect(CONNECTION_TTL_SECONDS).to.be.greaterThan(2 * 60 * 60);
    expect(CONNECTION_TTL_SECONDS).to.equal(8100);
    expect(RATE_WINDOW_SECONDS).to.equal(10);
  });
});
