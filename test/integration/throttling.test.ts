/**
 * The stage's throttling of the chat: template.yaml's Stage DefaultRouteSettings take their
 * burst and rate from Mappings.Tuning.Stage (constants, not parameters: README, Deploying it),
 * and the local runtime applies what it reads there to every route, $disconnect excepted. How it
 * applies a bucket (429 for a connect past it, a `Too Many Requests` frame for a message, nothing
 * invoked, the refill) is tested beside the runtime, on its fixture template with small buckets
 * (local/test/integration/throttling.test.ts).
 */
import { expect } from 'chai';
import type { LocalRuntime } from '../../local/src/index';
import { loadTemplate } from '../template/helpers';
import { connect, PROJECT_TEMPLATE, startRuntime } from './helpers';

describe('stage throttling (DefaultRouteSettings from Mappings.Tuning, template.yaml)', function () {
  this.timeout(30_000);
  let runtime: LocalRuntime;
  const tuning = loadTemplate().Mappings?.Tuning?.Stage ?? {};

  before(async () => {
    runtime = await startRuntime({ templatePath: PROJECT_TEMPLATE });
  });
  after(() => runtime?.close());

  it("gives every route a bucket of the Tuning mapping's burst, refilled at its rate", () => {
    // Assess
    expect(tuning.ThrottlingBurstLimit, 'Tuning.Stage.ThrottlingBurstLimit').to.be.a('number');
    expect(runtime.template.throttling).to.deep.equal({
      defaults: { burst: tuning.ThrottlingBurstLimit, rate: tuning.ThrottlingRateLimit },
      routes: {},
    });
  });

  it('counts what each route accepted against its bucket', async () => {
    // Act
    const client = await connect(`${runtime.wsUrl}?room=throttle-${process.pid}`, { protocols: ['chat.v1'] } as never);
    await client.close();

    // Assess
    expect(runtime.throttling().$connect).to.deep.equal({ accepted: 1, throttled: 0 });
  });
});
