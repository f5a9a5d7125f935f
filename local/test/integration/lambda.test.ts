/**
 * What a function sees when the local runtime runs it: a Lambda-like context, the template's
 * environment with intrinsic functions resolved to local values, Lambda's own variables, the
 * layer's package resolved as from /opt/nodejs/node_modules, and warm sandboxes reused.
 */
import { expect } from 'chai';
import { DEFAULT_SANDBOXES, type LocalRuntime } from '../../src/index';
import { nodeMajorOf } from '../../src/lambda/node-runtime';
import { connect, startRuntime } from '../helpers';

interface ContextReply {
  context: Record<string, unknown>;
  env: Record<string, string | undefined>;
  layer: string;
  invocations: number;
  node: string;
}

describe('local Lambda sandboxes', () => {
  let runtime: LocalRuntime;

  before(async () => {
    runtime = await startRuntime();
  });
  after(async () => {
    await runtime?.close();
  });

  const ask = async (): Promise<ContextReply> => {
    const client = await connect(runtime.wsUrl);
    client.send({ action: 'context' });
    const reply = await client.nextJson<ContextReply>();
    await client.close();
    return reply;
  };

  it('passes a Lambda-like context', async () => {
    const { context } = await ask();
    expect(context.awsRequestId).to.match(/^[0-9a-f-]{36}$/);
    expect(context).to.include({
      functionName: 'fixture-context',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:fixture-context',
      memoryLimitInMB: '384',
      logGroupName: '/aws/lambda/fixture-context',
    });
    expect(context.remainingMs).to.be.within(1, 5000);
  });

  it('runs the function on the Node.js major of its Runtime, as Lambda does', async () => {
    const { node } = await ask();
    const runtimeName = runtime.template.functions.get('ContextFunction')?.runtime ?? '';
    expect(runtimeName).to.match(/^nodejs\d+\.x$/);
    expect(node, `the Node.js of a ${runtimeName} function`).to.match(new RegExp(`^v${nodeMajorOf(runtimeName)}\\.`));
  });

  it("sets the template's environment, intrinsic functions resolved to local values", async () => {
    const { env } = await ask();
    expect(env.CONNECTIONS_URL).to.equal(runtime.connectionsUrl);
    expect(env.EVENTS_TABLE).to.equal('local-events');
    expect(env.EVENTS_TABLE_ARN).to.equal('arn:aws:dynamodb:us-east-1:123456789012:table/local-events');
    expect(env.QUEUE_URL).to.equal(`${runtime.httpUrl}123456789012/FixtureQueue`);
    expect(env.GREETING, "the function's own variable wins over Globals").to.equal('overridden');
    expect(env).not.to.have.property('DROPPED', 'x');
    expect(env.DROPPED, 'Ref AWS::NoValue removes the variable').to.equal(undefined);
  });

  it("sets Lambda's variables and the local wiring", async () => {
    const { env } = await ask();
    expect(env).to.include({
      AWS_REGION: 'us-east-1',
      AWS_LAMBDA_FUNCTION_NAME: 'fixture-context',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '384',
      _HANDLER: 'index.context',
      POWERTOOLS_DEV: 'true',
      AWS_ENDPOINT_URL_DYNAMODB: runtime.dynamodbEndpoint,
    });
  });

  it("resolves the layer's package, and reuses a warm sandbox with its module state", async () => {
    // Asked one after another, but a reply can arrive before its sandbox is idle again, so the next
    // ask may start another sandbox: of one ask more than the sandboxes a function may have, some
    // sandbox serves two or more, and its module state counts them (a cold one would answer 1).
    const replies: ContextReply[] = [];
    for (let i = 0; i <= DEFAULT_SANDBOXES; i += 1) replies.push(await ask());
    expect(replies[0]?.layer).to.equal('hello from the layer');
    expect(Math.max(...replies.map((reply) => reply.invocations))).to.be.greaterThan(1);
  });

  it('runs one function on one event through invoke()', async () => {
    const outcome = await runtime.invoke('TwoWayFunction', { body: 'direct' });
    expect(outcome.error).to.equal(undefined);
    expect(outcome.payload).to.deep.equal({ statusCode: 200, body: 'pong: direct' });
    const failed = await runtime.invoke('BoomFunction', {});
    expect(failed.error).to.include({ errorType: 'Error', errorMessage: 'boom' });
  });
});

describe('local Lambda sandboxes: template parameters', () => {
  it('takes parameter overrides, with conditions evaluated', async () => {
    const runtime = await startRuntime({ parameterOverrides: { Loud: 'yes', Greeting: 'hey' } });
    try {
      const outcome = await runtime.invoke('TwoWayFunction', { body: 'x' });
      expect(outcome.payload).to.deep.include({ statusCode: 200 });
      const fn = runtime.template.functions.get('EchoFunction');
      expect(fn?.environment.GREETING).to.equal('hey!');
      expect(fn?.environment.DROPPED).to.equal('x');
      expect(fn?.memoryMb).to.equal(256);
    } finally {
      await runtime.close();
    }
  });
});
