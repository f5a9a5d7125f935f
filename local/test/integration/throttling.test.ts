/**
 * The stage's route throttling (local/src/apigateway/throttle.ts), on the fixture template with
 * Throttled=yes: DefaultRouteSettings give every route a bucket of 4 refilled at 1 a second, and
 * RouteSettings give echo its own of 1. Past a bucket, a connect is refused with 429 and a
 * message answered with API Gateway's `Too Many Requests` frame, without invoking the function.
 */
import { expect } from 'chai';
import type { LocalRuntime } from '../../src/index';
import { connect, eventually, startRuntime, type Client } from '../helpers';

const BURST = 4;
const RATE = 1;

describe('local runtime: stage throttling (DefaultRouteSettings, RouteSettings)', function () {
  this.timeout(30_000);
  let runtime: LocalRuntime;
  const clients: Client[] = [];
  const invocations = (functionId: string): number => runtime.stats()[functionId]?.invocations ?? 0;
  const tooMany = (client: Client): string[] => client.messages.filter((m) => m.includes('Too Many Requests'));

  before(async () => {
    runtime = await startRuntime({ parameterOverrides: { Throttled: 'yes' } });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await runtime?.close();
  });

  it('reads the limits from the stage, through Fn::If', () => {
    // Assess
    expect(runtime.template.throttling).to.deep.equal({
      defaults: { burst: BURST, rate: RATE },
      routes: { echo: { burst: 1, rate: 1 } },
    });
  });

  it('refuses connects past the burst with 429 Too Many Requests, without running $connect, and accepts again at the rate', async () => {
    // Act: all at once, so that no token comes back while they arrive
    const attempts = await Promise.allSettled(Array.from({ length: BURST + 1 }, () => connect(runtime.wsUrl)));
    for (const a of attempts) if (a.status === 'fulfilled') clients.push(a.value);
    const refusals = attempts.flatMap((a) => (a.status === 'rejected' ? [a.reason as { status?: number; body?: string }] : []));

    // Assess
    expect(clients, 'accepted').to.have.length(BURST);
    expect(refusals.map((r) => [r.status, JSON.parse(r.body ?? '{}')])).to.deep.equal([[429, { message: 'Too Many Requests' }]]);
    expect(invocations('ConnectFunction'), 'the refused connect never ran').to.equal(BURST);
    await new Promise((resolve) => setTimeout(resolve, 1000 / RATE + 100));
    clients.push(await connect(runtime.wsUrl));
    expect(runtime.throttling().$connect).to.deep.equal({ accepted: BURST + 1, throttled: 1 });
  });

  it("answers messages past a route's burst with a Too Many Requests frame, invoking nothing; each route has its own bucket, echo the one RouteSettings give it", async () => {
    // Prepare
    const [client] = clients as [Client];
    client.messages.splice(0);
    const sent = BURST + 3;

    // Act
    for (let i = 0; i < sent; i += 1) client.send({ action: 'twoway', i });
    const answered = await eventually(
      async () => (client.messages.length >= sent ? [...client.messages] : undefined),
      10_000,
      'every twoway message answered',
    );
    client.messages.splice(0);
    client.send({ action: 'echo', n: 1 });
    client.send({ action: 'echo', n: 2 });
    await eventually(async () => (client.messages.length >= 2 ? true : undefined), 10_000, 'both echo messages answered');

    // Assess
    expect(
      answered.filter((m) => m.startsWith('pong: ')),
      'served',
    ).to.have.length(BURST);
    expect(
      answered.filter((m) => m.includes('Too Many Requests')),
      'throttled',
    ).to.have.length(sent - BURST);
    for (const frame of answered.filter((m) => m.includes('Too Many Requests'))) {
      expect(Object.keys(JSON.parse(frame) as object).sort()).to.deep.equal(['connectionId', 'message', 'requestId']);
    }
    expect(tooMany(client), 'echo: a burst of 1').to.have.length(1);
    expect(runtime.throttling()).to.deep.include({
      twoway: { accepted: BURST, throttled: sent - BURST },
      echo: { accepted: 1, throttled: 1 },
    });
    expect(invocations('TwoWayFunction')).to.equal(BURST);
  });

  it('never throttles $disconnect', async () => {
    // Act: more disconnects than a burst, at once
    const before = invocations('RecordFunction');
    const leaving = clients.splice(0);
    await Promise.all(leaving.map((c) => c.close()));

    // Assess
    await eventually(
      async () => (invocations('RecordFunction') - before >= leaving.length ? true : undefined),
      10_000,
      'every $disconnect ran',
    );
    expect(leaving.length).to.be.greaterThan(BURST);
    expect(runtime.throttling()).to.not.have.property('$disconnect');
  });

  it('is off for a stage without throttling settings', async () => {
    // Prepare
    const plain = await startRuntime({ throttling: true });
    try {
      const client = await connect(plain.wsUrl);

      // Act
      for (let i = 0; i < 20; i += 1) client.send({ action: 'twoway', i });
      await eventually(async () => (client.messages.length >= 20 ? true : undefined), 10_000, '20 answers');

      // Assess
      expect(tooMany(client)).to.deep.equal([]);
      expect(plain.throttling()).to.deep.equal({});
      await client.close();
    } finally {
      await plain.close();
    }
  });
});
