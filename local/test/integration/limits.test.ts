/**
 * API Gateway's WebSocket limits, locally: 32 KB frames and 128 KB messages (close 1009),
 * binary frames (close 1003), the idle timeout and the connection's maximum duration (close
 * 1001), each reported to $disconnect.
 */
import { expect } from 'chai';
import type { LocalRuntime } from '../../src/index';
import { connect, connectWithId, keptEvent, startRuntime, storeClient } from '../helpers';

const KB = 1024;

describe('API Gateway limits, locally', () => {
  let runtime: LocalRuntime;
  let db: ReturnType<typeof storeClient>;

  before(async () => {
    runtime = await startRuntime({ limits: { idleTimeoutMs: 1500, maxConnectionMs: 4000 } });
    db = storeClient(runtime);
  });
  after(async () => {
    db?.destroy();
    await runtime?.close();
  });

  const disconnectOf = async (connectionId: string): Promise<Record<string, unknown>> =>
    (await keptEvent(db, runtime.tables.EventsTable as string, connectionId, '$disconnect')).requestContext as Record<string, unknown>;

  it('accepts a 32 KB frame', async () => {
    const client = await connect(runtime.wsUrl);
    const text = JSON.stringify({ action: 'twoway', pad: '' });
    client.send(text.replace('"pad":""', `"pad":"${'p'.repeat(32 * KB - text.length)}"`));
    expect(await client.next()).to.match(/^pong: /);
    await client.close();
  });

  it('closes with 1009 on a frame over 32 KB', async () => {
    const { client, connectionId } = await connectWithId(runtime);
    client.send('x'.repeat(32 * KB + 1));
    expect((await client.closed).code).to.equal(1009);
    expect(await disconnectOf(connectionId)).to.include({ disconnectStatusCode: 1009 });
    expect(client.messages).to.deep.equal([]);
  });

  it('accepts a fragmented message of 120 KB in frames of 30 KB', async () => {
    const client = await connect(runtime.wsUrl);
    const body = JSON.stringify({ action: 'twoway', pad: 'p'.repeat(120 * KB - 40) });
    for (let at = 0; at < body.length; at += 30 * KB) {
      client.ws.send(body.slice(at, at + 30 * KB), { fin: at + 30 * KB >= body.length });
    }
    expect(await client.next()).to.equal(`pong: ${body}`);
    await client.close();
  });

  it('closes with 1009 on a fragmented message over 128 KB', async () => {
    const { client, connectionId } = await connectWithId(runtime);
    const chunk = 'x'.repeat(30 * KB);
    for (let i = 0; i < 5; i += 1) client.ws.send(chunk, { fin: i === 4 });
    expect((await client.closed).code).to.equal(1009);
    expect(await disconnectOf(connectionId)).to.include({ disconnectStatusCode: 1009 });
  });

  it('closes with 1003 on a binary frame', async () => {
    const { client, connectionId } = await connectWithId(runtime);
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await client.closed).code).to.equal(1003);
    expect(await disconnectOf(connectionId)).to.include({ disconnectStatusCode: 1003 });
  });

  it('closes an idle connection with 1001 Going away', async () => {
    const { client, connectionId } = await connectWithId(runtime);
    const started = Date.now();
    const closed = await client.closed;
    expect(closed).to.deep.equal({ code: 1001, reason: 'Going away' });
    expect(Date.now() - started).to.be.within(1300, 8000);
    expect(await disconnectOf(connectionId)).to.include({ disconnectStatusCode: 1001, disconnectReason: 'Going away' });
  });

  it('keeps a connection that sends messages past the idle timeout, and closes it at the maximum duration', async () => {
    const { client } = await connectWithId(runtime);
    const started = Date.now();
    const keepAlive = setInterval(() => client.send({ action: 'twoway' }), 300);
    const closed = await client.closed;
    clearInterval(keepAlive);
    expect(closed.code).to.equal(1001);
    expect(Date.now() - started).to.be.within(2000, 12_000);
    expect(client.messages.filter((m) => m.startsWith('pong')).length).to.be.greaterThan(3);
  });
});
