/**
 * Tracing costs nothing where it is off: chat-core loads Powertools Tracer (and with it the
 * X-Ray SDK and its promise hook) only on Lambda with POWERTOOLS_TRACE_ENABLED not "false",
 * never locally.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import sinon from 'sinon';
import type { Context } from 'aws-lambda';
import { instrumented, metrics, MetricUnit } from 'chat-core';
import { tracingEnabled, untraced } from '../../../layers/chat-core/src/platform/observability';

const ON_LAMBDA = { AWS_LAMBDA_FUNCTION_NAME: 'chat-SendMessageFunction', LAMBDA_TASK_ROOT: '/var/task' };

const OBSERVABILITY = join(__dirname, '..', '..', '..', 'layers', 'chat-core', 'src', 'platform', 'observability.ts');

/** Loads chat-core in a fresh process with `env`, as a function does; answers which tracer it made and whether the X-Ray SDK was loaded. */
async function loadLayer(env: Record<string, string>): Promise<{ xraySdkLoaded: boolean; tracer: string }> {
  const probe =
    "require('chat-core'); const loaded = Object.keys(require.cache).some((file) => file.includes('aws-xray-sdk-core'));" +
    `const { tracer } = require(${JSON.stringify(OBSERVABILITY)});` +
    'process.stdout.write(JSON.stringify({ xraySdkLoaded: loaded, tracer: tracer.constructor.name }))';
  const { PATH, HOME } = process.env;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '-e', probe], {
    env: { PATH, HOME, AWS_REGION: 'us-east-1', CONNECTIONS_URL: 'https://example.execute-api.us-east-1.amazonaws.com/production', ...env },
  });
  return JSON.parse(stdout) as { xraySdkLoaded: boolean; tracer: string };
}

describe('observability: tracing', function () {
  this.timeout(30_000);

  it('traces on Lambda only, unless POWERTOOLS_TRACE_ENABLED is false or it runs under AWS_SAM_LOCAL', () => {
    expect(tracingEnabled(ON_LAMBDA)).to.equal(true);
    expect(tracingEnabled({ ...ON_LAMBDA, POWERTOOLS_TRACE_ENABLED: 'true' })).to.equal(true);
    expect(tracingEnabled({ ...ON_LAMBDA, POWERTOOLS_TRACE_ENABLED: 'false' })).to.equal(false);
    expect(tracingEnabled({ ...ON_LAMBDA, POWERTOOLS_TRACE_ENABLED: 'FALSE' })).to.equal(false);
    expect(tracingEnabled({ ...ON_LAMBDA, AWS_SAM_LOCAL: 'true' })).to.equal(false);
    expect(tracingEnabled({})).to.equal(false);
  });

  it('leaves SDK clients as they are when untraced', () => {
    const client = { send: (): void => undefined };
    expect(untraced.captureAWSv3Client(client)).to.equal(client);
    expect(untraced.getSegment()).to.equal(undefined);
  });

  it('does not load the X-Ray SDK where tracing is off, and loads Powertools Tracer where it is on', async () => {
    const [off, local, on] = await Promise.all([
      loadLayer({ ...ON_LAMBDA, POWERTOOLS_TRACE_ENABLED: 'false' }),
      loadLayer({ ...ON_LAMBDA, AWS_SAM_LOCAL: 'true' }),
      loadLayer({ ...ON_LAMBDA, POWERTOOLS_TRACE_ENABLED: 'true' }),
    ]);
    expect(off).to.deep.equal({ xraySdkLoaded: false, tracer: 'Object' });
    expect(local).to.deep.equal({ xraySdkLoaded: false, tracer: 'Object' });
    expect(on).to.deep.equal({ xraySdkLoaded: true, tracer: 'Tracer' });
  });

  it("publishes an invocation's metrics when it ends, also when it throws, and lets the error through", async () => {
    const publish = sinon.stub(metrics, 'publishStoredMetrics');
    const context = { functionName: 'FanoutFunction', awsRequestId: 'r-1' } as Context;
    try {
      const answer = await instrumented(context, 'fanout', async () => {
        metrics.addMetric('Deliveries', MetricUnit.Count, 2);
        return 'done';
      });
      expect(answer).to.equal('done');
      expect(publish.callCount).to.equal(1);
      let thrown: unknown;
      await instrumented(context, 'fanout', async () => {
        metrics.addMetric('Deliveries', MetricUnit.Count, 1);
        throw new Error('store down');
      }).catch((error: unknown) => {
        thrown = error;
      });
      expect((thrown as Error).message).to.equal('store down');
      expect(publish.callCount).to.equal(2);
    } finally {
      publish.restore();
      metrics.clearMetrics();
    }
  });
});
