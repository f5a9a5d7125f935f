import { expect } from 'chai';
import { config } from 'chat-core';
import { CONNECTION_TTL_SECONDS, MissingConfigError, RATE_WINDOW_SECONDS, loadConfig } from '../../../layers/chat-core/src/platform/config';
import { expectThrow } from '../helpers';

/** What template.yaml gives SendMessageFunction, the function that uses every template variable. */
const VALID: NodeJS.ProcessEnv = {
  CONNECTIONS_TABLE: 'connections-table',
  MESSAGES_TABLE: 'messages-table',
  CONNECTIONS_URL: 'https://abcdef123.execute-api.us-east-1.amazonaws.com/production',
  MAX_MESSAGE_BYTES: '4096',
  MESSAGE_RETENTION_DAYS: '7',
  MESSAGE_RATE_LIMIT: '20',
  FANOUT_THRESHOLD: '1000',
  FANOUT_SHARD_SIZE: '500',
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
      FANOUT_THRESHOLD: 1000,
      FANOUT_SHARD_SIZE: 500,
      FANOUT_CONCURRENCY: 100,
      POST_TIMEOUT_MS: 3000,
    });
  });

  it('applies its own defaults only to the settings the template does not set', () => {
    // Act
    const loaded = loadConfig(VALID);

    // Assess
    expect(loaded).to.deep.include({ FANOUT_CONCURRENCY: 100, POST_TIMEOUT_MS: 3000 });
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

  it('loads with only the variables a function is given (DefaultFunction: a table and the endpoint)', () => {
    // Act
    const loaded = loadConfig({ CONNECTIONS_TABLE: 'connections-table', CONNECTIONS_URL: VALID.CONNECTIONS_URL });

    // Assess
    expect(loaded.CONNECTIONS_TABLE).to.equal('connections-table');
    expect(Object.keys(loaded)).not.to.include.members(['MESSAGES_TABLE', 'MAX_MESSAGE_BYTES']);
  });

  it('names the variable a function uses without having been given it, in a clear error', () => {
    // Prepare
    const loaded = loadConfig({ CONNECTIONS_TABLE: 'connections-table' });

    // Act
    const error = expectThrow(() => loaded.MESSAGES_TABLE, MissingConfigError);

    // Assess
    expect(error.variable).to.equal('MESSAGES_TABLE');
    expect(error.message).to.equal(
      "chat-core: MESSAGES_TABLE is not set, and this function uses it: add it to the function's Environment in template.yaml",
    );
    for (const name of [
      'CONNECTIONS_URL',
      'MAX_MESSAGE_BYTES',
      'MESSAGE_RETENTION_DAYS',
      'MESSAGE_RATE_LIMIT',
      'FANOUT_THRESHOLD',
      'FANOUT_SHARD_SIZE',
    ] as const) {
      expect(expectThrow(() => loaded[name], MissingConfigError).variable).to.equal(name);
    }
  });

  it('refuses an empty table name', () => {
    // Act
    const error = expectThrow(() => loadConfig({ ...VALID, CONNECTIONS_TABLE: '' }));

    // Assess
    expect(error.message).to.match(/^chat-core: invalid environment \(CONNECTIONS_TABLE is "": [^;]+\)\. template\.yaml sets them/);
  });

  it('refuses a Management API URL that is not http(s)', () => {
    // Act
    const error = expectThrow(() =>
      loadConfig({ ...VALID, CONNECTIONS_URL: 'wss://abcdef123.execute-api.us-east-1.amazonaws.com/production' }),
    );

    // Assess
    expect(error.message).to.match(
      /^chat-core: invalid environment \(CONNECTIONS_URL is "wss:\/\/abcdef123\.execute-api\.us-east-1\.amazonaws\.com\/production": [^;]+\)/,
    );
  });

  it("refuses SAM's stand-in for the API's endpoint under sam local invoke (AWS::URLSuffix as localhost), not elsewhere", () => {
    // Arrange: what sam local invoke makes of the template's CONNECTIONS_URL when env.json does not set it,
    // without a region and with one.
    const standIns = [
      'https://ChatApi.execute-api.us-east-1.localhost/production',
      'https://ChatApi.execute-api.eu-west-1.amazonaws.com/production',
    ];
    const standIn = standIns[0] as string;

    for (const value of standIns) {
      // Act
      const error = expectThrow(() => loadConfig({ ...VALID, AWS_SAM_LOCAL: 'true', CONNECTIONS_URL: value }));

      // Assess
      expect(error.message).to.include(`CONNECTIONS_URL is "${value}": SAM's stand-in for the API's endpoint`);
    }
    const deployed = 'https://abcdef1234.execute-api.eu-west-1.amazonaws.com/production';
    expect(loadConfig({ ...VALID, AWS_SAM_LOCAL: 'true', CONNECTIONS_URL: deployed }).CONNECTIONS_URL).to.equal(deployed);
    expect(loadConfig({ ...VALID, CONNECTIONS_URL: standIn }).CONNECTIONS_URL).to.equal(standIn);
    expect(loadConfig({ ...VALID, AWS_SAM_LOCAL: 'true', CONNECTIONS_URL: 'http://127.0.0.1:3001/production' }).CONNECTIONS_URL).to.equal(
      'http://127.0.0.1:3001/production',
    );
  });

  it('names the value SAM gave and where to fill it, under sam local invoke', () => {
    // Act: what sam local invoke gives a !Ref of a queue that env.json does not set.
    const error = expectThrow(() => loadConfig({ ...VALID, AWS_SAM_LOCAL: 'true', FANOUT_QUEUE_URL: 'FanoutQueue' }));

    // Assess
    expect(error.message).to.match(/^chat-core: invalid environment \(FANOUT_QUEUE_URL is "FanoutQueue": [^;]+\)/);
    expect(error.message).to.include('--env-vars events/env.json: fill it from the stack with npm run fill-env');
  });

  it('refuses numbers that are not numbers, not integers or out of range', () => {
    // Act
    const error = expectThrow(() =>
      loadConfig({ ...VALID, MAX_MESSAGE_BYTES: 'lots', MESSAGE_RETENTION_DAYS: '0', FANOUT_CONCURRENCY: '1.5', POST_TIMEOUT_MS: '10' }),
    );

    // Assess
    for (const name of ['MAX_MESSAGE_BYTES', 'MESSAGE_RETENTION_DAYS', 'FANOUT_CONCURRENCY', 'POST_TIMEOUT_MS']) {
      expect(error.message).to.include(`${name} is `);
    }
    expect(error.message.split('; ')).to.have.length(4);
  });

  it("keeps connections a margin past API Gateway's 2-hour limit and a 10 s rate window", () => {
    // Assess
    expect(CONNECTION_TTL_SECONDS).to.be.greaterThan(2 * 60 * 60);
    expect(CONNECTION_TTL_SECONDS).to.equal(8100);
    expect(RATE_WINDOW_SECONDS).to.equal(10);
  });
});
