/**
 * The message rate limit against the real store (conditional writes as DynamoDB evaluates
 * them), with the clock in the test's hands: the layer's recordMessageSent called with chosen
 * times, so that bursts at any moment, window boundaries included, are checked exactly.
 *
 * A fixed window let a burst through when it straddled a 10-second boundary (3 messages at
 * 9.99 s, 3 more at 10.01 s, all accepted at a limit of 3), which made the least-privilege
 * test's 4-message burst miss its rate_limited about once in ten runs.
 */
import { expect } from 'chai';
import type { LocalRuntime } from '../../local/src/index';
import { PROJECT_TEMPLATE, startRuntime } from './helpers';

type ChatCore = typeof import('chat-core');

const LIMIT = 3;
/** One token every 10 s / 3. */
const INTERVAL = 10_000 / LIMIT;

describe('message rate limit (chat-core against the local store, clock under test)', () => {
  let runtime: LocalRuntime;
  let core: ChatCore;
  const saved: Record<string, string | undefined> = {};
  let sequence = 0;

  before(async () => {
    runtime = await startRuntime({ templatePath: PROJECT_TEMPLATE });
    // chat-core reads its environment and builds its DynamoDB client when first imported.
    const env: Record<string, string> = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: runtime.dynamodbEndpoint,
      CONNECTIONS_TABLE: runtime.tables.ConnectionsTable as string,
      MESSAGES_TABLE: runtime.tables.MessagesTable as string,
      CONNECTIONS_URL: `${runtime.httpUrl}/production`,
      MESSAGE_RATE_LIMIT: String(LIMIT),
      POWERTOOLS_DEV: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_METRICS_DISABLED: 'true',
    };
    for (const [name, value] of Object.entries(env)) {
      saved[name] = process.env[name];
      process.env[name] = value;
    }
    core = await import('chat-core');
  });

  after(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await runtime?.close();
  });

  const newConnection = async (start: number): Promise<string> => {
    sequence += 1;
    const connectionId = `rate${sequence}AAAAAAAA=`;
    await core.saveConnection({ connectionId, room: 'rate', name: `n${sequence}`, protocol: 'chat.v1' }, start);
    return connectionId;
  };

  /** 'ok' or the ChatError code of each message, sent at the given times, one after another. */
  const send = async (connectionId: string, times: number[]): Promise<string[]> => {
    const outcomes: string[] = [];
    for (const now of times) {
      try {
        await core.recordMessageSent(connectionId, now);
        outcomes.push('ok');
      } catch (error: unknown) {
        if (!(error instanceof core.ChatError)) throw error;
        outcomes.push(error.code);
      }
    }
    return outcomes;
  };

  it('refuses the 4th of a burst of 4 that straddles a 10-second boundary', async () => {
    const boundary = Math.ceil(Date.now() / 10_000) * 10_000 + 10_000;
    const id = await newConnection(boundary - 60_000);
    const outcomes = await send(id, [boundary - 20, boundary - 10, boundary + 10, boundary + 20]);
    expect(outcomes).to.deep.equal(['ok', 'ok', 'ok', 'rate_limited']);
  });

  it('lets no second burst in right after a boundary: 3 at 9.99 s, then only refusals until a token is back', async () => {
    const boundary = Math.ceil(Date.now() / 10_000) * 10_000 + 10_000;
    const id = await newConnection(boundary - 60_000);
    const before = [boundary - 12, boundary - 11, boundary - 10];
    const after = [boundary + 10, boundary + 20, boundary + 30];
    expect(await send(id, [...before, ...after])).to.deep.equal(['ok', 'ok', 'ok', 'rate_limited', 'rate_limited', 'rate_limited']);
  });

  it('refuses a burst concurrently sent from several sandboxes past the limit, exactly', async () => {
    const now = Date.now();
    const id = await newConnection(now - 60_000);
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => send(id, [now])));
    const flat = outcomes.flat();
    expect(flat.filter((o) => o === 'ok')).to.have.length(LIMIT);
    expect(flat.filter((o) => o === 'rate_limited')).to.have.length(8 - LIMIT);
  });

  it('gives a token back every 10 s / limit: a full burst, then one per interval, a full burst after a quiet spell', async () => {
    const t = Date.now();
    const id = await newConnection(t - 60_000);
    expect(await send(id, [t, t, t, t]), 'a full burst').to.deep.equal(['ok', 'ok', 'ok', 'rate_limited']);
    expect(await send(id, [t + INTERVAL - 1]), 'just before a token is back').to.deep.equal(['rate_limited']);
    expect(await send(id, [t + INTERVAL, t + INTERVAL]), 'one token back').to.deep.equal(['ok', 'rate_limited']);
    const quiet = t + 20_000;
    expect(await send(id, [quiet, quiet, quiet, quiet]), 'full again').to.deep.equal(['ok', 'ok', 'ok', 'rate_limited']);
  });

  it('counts a connection stored before the limit kept rateAt (an update of a live stack) as a full bucket', async () => {
    const now = Date.now();
    const id = await newConnection(now - 60_000);
    const { DynamoDBClient, UpdateItemCommand } = await import('@aws-sdk/client-dynamodb');
    const db = new DynamoDBClient({ endpoint: runtime.dynamodbEndpoint });
    try {
      await db.send(
        new UpdateItemCommand({
          TableName: runtime.tables.ConnectionsTable,
          Key: { connectionId: { S: id } },
          UpdateExpression: 'REMOVE rateAt',
        }),
      );
    } finally {
      db.destroy();
    }
    expect(await send(id, [now, now, now, now])).to.deep.equal(['ok', 'ok', 'ok', 'rate_limited']);
  });

  it('a message of an unknown connection is not_connected, not rate_limited', async () => {
    expect(await send('neverConnected0=', [Date.now()])).to.deep.equal(['not_connected']);
  });
});
