/**
 * The project's fan-out for large rooms, locally: with FanoutThreshold lowered by a parameter
 * override, sendmessage queues shards on the template's FanoutQueue and FanoutFunction (its
 * event source mapping) delivers them, through the local SQS and Management API.
 */
import { expect } from 'chai';
import type { LocalRuntime } from '../../local/src/index';
import { connect, eventually, PROJECT_TEMPLATE, startRuntime, type Client } from './helpers';

describe('fan-out through the queue (template.yaml, real handlers)', () => {
  let runtime: LocalRuntime;
  let clients: Client[] = [];

  before(async () => {
    runtime = await startRuntime({
      templatePath: PROJECT_TEMPLATE,
      env: { FANOUT_THRESHOLD: '1', FANOUT_SHARD_SIZE: '1' },
    });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await runtime?.close();
  });

  it('delivers to every other client of a room larger than the threshold', async () => {
    expect(runtime.template.queueMappings.map((m) => m.functionId)).to.include('FanoutFunction');
    clients = [];
    for (let i = 0; i < 4; i += 1) clients.push(await connect(`${runtime.wsUrl}?room=bigroom&name=user${i}`));
    const [sender, ...others] = clients as [Client, ...Client[]];
    sender.send({ action: 'sendmessage', message: 'through the queue' });
    for (const client of others) {
      // Presence frames may come first; the message arrives through FanoutFunction.
      let frame = await client.next(15_000);
      while (!frame.includes('through the queue')) frame = await client.next(15_000);
      expect(frame).to.match(/through the queue$/);
    }
    // The recipients have the message before FanoutFunction's invocation returns.
    const ran = await eventually(async () => runtime.stats().FanoutFunction?.invocations, 10_000, 'FanoutFunction ran');
    expect(ran).to.be.greaterThan(0);
  });
});
