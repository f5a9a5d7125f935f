/**
 * The stage's throttling, emulated from template.yaml's Stage DefaultRouteSettings (the
 * ThrottlingBurstLimit / ThrottlingRateLimit parameters, lowered here): each route has a token
 * bucket of that burst refilled at that rate; past it a connect is refused with 429 and a
 * message gets API Gateway's `Too Many Requests` frame, without invoking the function. The
 * runtime's own throttling tests (route settings, $disconnect, a stage without settings) are in
 * local/test/integration/throttling.test.ts; these check the chat's parameters reach the stage.
 */
import { expect } from 'chai';
import type { LocalRuntime } from '../../local/src/index';
import { connect, eventually, PROJECT_TEMPLATE, startRuntime, type Client } from './helpers';

const BURST = 4;
const RATE = 1;

describe('stage throttling (DefaultRouteSettings, template.yaml)', function () {
  this.timeout(30_000);
  let runtime: LocalRuntime;
  const clients: Client[] = [];
  const room = `throttle-${process.pid}-${Date.now().toString(36)}`;

  before(async () => {
    runtime = await startRuntime({
      templatePath: PROJECT_TEMPLATE,
      parameterOverrides: { ThrottlingBurstLimit: String(BURST), ThrottlingRateLimit: String(RATE) },
    });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await runtime?.close();
  });

  it('refuses connects past the burst with 429 Too Many Requests, and accepts again at the rate', async () => {
    const url = `${runtime.wsUrl}?room=${room}`;
    // All at once, so that no token comes back while they arrive.
    const attempts = await Promise.allSettled(Array.from({ length: BURST + 1 }, () => connect(url, { protocols: ['chat.v1'] } as never)));
    for (const a of attempts) if (a.status === 'fulfilled') clients.push(a.value);
    const refusals = attempts.flatMap((a) => (a.status === 'rejected' ? [a.reason as { status?: number; body?: string }] : []));
    expect(clients, 'accepted').to.have.length(BURST);
    expect(
      refusals.map((r) => r.status),
      'refused',
    ).to.deep.equal([429]);
    expect(JSON.parse(refusals[0]?.body ?? '{}')).to.deep.equal({ message: 'Too Many Requests' });
    const connectsBefore = runtime.stats().ConnectFunction?.invocations ?? 0;
    expect(connectsBefore, 'the refused connect did not reach $connect').to.equal(BURST);
    await new Promise((resolve) => setTimeout(resolve, 1000 / RATE + 100));
    clients.push(await connect(url, { protocols: ['chat.v1'] } as never));
    expect(runtime.throttling().$connect).to.deep.equal({ accepted: BURST + 1, throttled: 1 });
  });

  it('answers messages past the burst with a Too Many Requests frame, invoking nothing, and serves again at the rate', async () => {
    const [sender] = clients as [Client];
    sender.messages.splice(0);
    const invoked = runtime.stats().SendMessageFunction?.invocations ?? 0;
    const sent = BURST + 3;
    for (let i = 0; i < sent; i += 1) sender.send({ action: 'sendmessage', message: `burst ${i}` });
    const frames = await eventually(
      async () => {
        const parsed = sender.messages.map((m) => JSON.parse(m) as Record<string, unknown>);
        const answered = parsed.filter((f) => f.type === 'message' || f.message === 'Too Many Requests');
        return answered.length >= sent ? parsed : undefined;
      },
      10_000,
      'every message answered',
    );
    const throttled = frames.filter((f) => f.message === 'Too Many Requests');
    expect(throttled, 'throttled messages').to.have.length(sent - BURST);
    for (const f of throttled) {
      expect(Object.keys(f).sort()).to.deep.equal(['connectionId', 'message', 'requestId']);
      expect(f.connectionId).to.be.a('string').with.length(16);
    }
    expect(
      frames.filter((f) => f.type === 'message'),
      'delivered',
    ).to.have.length(BURST);
    // A function's invocation is counted when it returns, after its posts: wait for the last one.
    await eventually(
      async () => ((runtime.stats().SendMessageFunction?.invocations ?? 0) - invoked >= BURST ? true : undefined),
      5000,
      'invocations',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((runtime.stats().SendMessageFunction?.invocations ?? 0) - invoked, 'invocations').to.equal(BURST);

    // Other routes have buckets of their own.
    sender.send({ action: 'members' });
    await eventually(async () => (sender.messages.some((m) => m.includes('"members"')) ? true : undefined), 10_000, 'members answered');

    await new Promise((resolve) => setTimeout(resolve, 1000 / RATE + 100));
    sender.send({ action: 'sendmessage', message: 'after the refill' });
    await eventually(async () => (sender.messages.some((m) => m.includes('after the refill')) ? true : undefined), 10_000, 'served again');
    const { sendmessage } = runtime.throttling();
    console.log(
      `      throttling: burst ${BURST}, ${RATE}/s → connects ${JSON.stringify(runtime.throttling().$connect)}, ` +
        `messages ${JSON.stringify(sendmessage)} (429 / Too Many Requests frames)`,
    );
  });
});
