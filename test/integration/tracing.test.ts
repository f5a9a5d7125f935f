/**
 * The template's `Tracing: Active`, locally as on Lambda: each invocation of a traced function
 * gets a sampled trace of its own, its X-Ray SDK (Powertools Tracer, loaded because the function
 * is traced) sends the handler's subsegment and one per captured AWS call to the daemon, the
 * runtime's own unless AWS_XRAY_DAEMON_ADDRESS names one, and `tracing: false` (npm start
 * --no-tracing) traces nothing, as PassThrough.
 */
import { createSocket, type Socket } from 'node:dgram';
import { expect } from 'chai';
import type { LocalRuntime, TraceSummary } from '../../local/src/index';
import { connect, eventually, PROJECT_TEMPLATE, startRuntime } from './helpers';

const TRACE_ID = /^1-[0-9a-f]{8}-[0-9a-f]{24}$/;

async function sendOne(runtime: LocalRuntime, room: string): Promise<void> {
  const client = await connect(`${runtime.wsUrl}?room=${room}&name=tracer`, { protocols: ['chat.v1'] });
  client.send({ action: 'sendmessage', message: 'traced' });
  await eventually(async () => (client.messages.some((m) => m.includes('"traced"')) ? true : undefined), 10_000, 'the confirmation');
  await client.close();
}

describe('tracing: Tracing Active functions traced locally as on Lambda', function () {
  this.timeout(60_000);

  describe("with the runtime's own daemon (the default)", () => {
    let runtime: LocalRuntime;
    before(async () => {
      runtime = await startRuntime({ templatePath: PROJECT_TEMPLATE });
    });
    after(() => runtime?.close());

    it('traces every function the template traces, sending to a daemon on 127.0.0.1', () => {
      expect(runtime.tracing.daemon).to.match(/^127\.0\.0\.1:\d+$/);
      expect([...runtime.tracing.traced].sort()).to.deep.equal(
        [...runtime.template.functions.values()]
          .filter((fn) => fn.tracing)
          .map((fn) => fn.logicalId)
          .sort(),
      );
      expect(runtime.tracing.traced).to.include.members(['ConnectFunction', 'SendMessageFunction']);
    });

    it("records a message's send as a trace: the handler's subsegment and its DynamoDB calls, each trace its own", async () => {
      await sendOne(runtime, `traced-${process.pid}`);
      const traces = await eventually(
        async () => {
          const { traces } = runtime.tracing.received();
          const send = traces.find((t) => t.calls.some((c) => c.name === '## sendmessage'));
          const join = traces.find((t) => t.calls.some((c) => c.name === '## $connect'));
          return send && join ? { send, join } : undefined;
        },
        10_000,
        'the traces of $connect and sendmessage',
      );
      const { send, join } = traces as { send: TraceSummary; join: TraceSummary };
      expect(send.traceId).to.match(TRACE_ID);
      expect(send.traceId, 'a trace per invocation').to.not.equal(join.traceId);
      const names = send.calls.map((c) => c.name);
      expect(names).to.include.members(['DynamoDB.PutItem', 'DynamoDB.Query']);
      expect(send.calls.every((c) => c.durationMs !== undefined && c.durationMs >= 0)).to.equal(true);
      expect(send.calls.filter((c) => c.failed)).to.deep.equal([]);
    });
  });

  it('traces nothing with tracing off (npm start --no-tracing)', async () => {
    const runtime = await startRuntime({ templatePath: PROJECT_TEMPLATE, tracing: false });
    try {
      expect(runtime.tracing.daemon).to.equal(undefined);
      expect(runtime.tracing.traced).to.deep.equal([]);
      await sendOne(runtime, `untraced-${process.pid}`);
      expect(runtime.tracing.received().documents).to.equal(0);
    } finally {
      await runtime.close();
    }
  });

  it('sends to the daemon AWS_XRAY_DAEMON_ADDRESS names, when the environment names one', async () => {
    const daemon: Socket = createSocket('udp4');
    const packets: string[] = [];
    daemon.on('message', (packet) => packets.push(packet.toString('utf8')));
    await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${daemon.address().port}`;
    const before = process.env.AWS_XRAY_DAEMON_ADDRESS;
    process.env.AWS_XRAY_DAEMON_ADDRESS = address;
    let runtime: LocalRuntime | undefined;
    try {
      runtime = await startRuntime({ templatePath: PROJECT_TEMPLATE });
      expect(runtime.tracing.daemon).to.equal(address);
      await sendOne(runtime, `external-${process.pid}`);
      await eventually(
        async () => (packets.some((p) => p.includes('"## sendmessage"')) ? true : undefined),
        10_000,
        'segments at the daemon',
      );
      expect(JSON.parse(packets[0]?.split('\n')[0] ?? '{}')).to.deep.equal({ format: 'json', version: 1 });
    } finally {
      if (before === undefined) delete process.env.AWS_XRAY_DAEMON_ADDRESS;
      else process.env.AWS_XRAY_DAEMON_ADDRESS = before;
      await runtime?.close();
      daemon.close();
    }
  });
});
