/**
 * The runtime never crashes on a handler that does (test/fixtures/crash.yaml): at import, by a
 * synchronous throw, by process.exit, by an uncaught exception. Each invocation is answered as
 * API Gateway answers a failed integration, and the next request is served.
 */
import { join } from 'node:path';
import { expect } from 'chai';
import type { LocalRuntime } from '../../src/index';
import { connect, FIXTURE_TEMPLATE, startRuntime } from '../helpers';

const CRASH_TEMPLATE = join(FIXTURE_TEMPLATE, '..', 'crash.yaml');

describe('local runtime: handlers that crash (fixtures/crash.yaml)', function () {
  this.timeout(30_000);
  let runtime: LocalRuntime;
  before(async () => {
    runtime = await startRuntime({ templatePath: CRASH_TEMPLATE });
  });
  after(async () => runtime?.close());

  it('answers each crash as API Gateway does (Internal server error), twice, and keeps serving', async () => {
    const client = await connect(runtime.wsUrl);
    try {
      for (const action of ['import', 'sync', 'exit', 'uncaught']) {
        for (let round = 0; round < 2; round += 1) {
          // Act
          client.send({ action });
          const failed = JSON.parse(await client.next()) as Record<string, unknown>;
          client.send({ action: 'ok', round });
          const served = await client.next();

          // Assess
          expect(failed, `${action} #${round + 1}`).to.include({ message: 'Internal server error' });
          expect(served, `served after ${action}`).to.equal(`ok: {"action":"ok","round":${round}}`);
        }
      }
      const stats = runtime.stats();
      expect(stats.ImportThrowsFunction).to.include({ invocations: 2, errors: 2 });
      expect(stats.SyncFunction).to.include({ invocations: 2, errors: 2 });
      expect(stats.ExitFunction).to.include({ invocations: 2, errors: 2 });
      expect(stats.UncaughtFunction).to.include({ invocations: 2, errors: 2 });
      expect(stats.OkFunction).to.include({ invocations: 8, errors: 0 });
    } finally {
      await client.close();
    }
  });
});
