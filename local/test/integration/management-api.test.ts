/**
 * The local @connections API through the real @aws-sdk/client-apigatewaymanagementapi: the same
 * typed results and errors as against AWS.
 */
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { expect } from 'chai';
import type { LocalRuntime } from '../../src/index';
import { connect, connectWithId, keptEvent, startRuntime, storeClient } from '../helpers';

describe('local Management API (@connections) with the AWS SDK', () => {
  let runtime: LocalRuntime;
  let api: ApiGatewayManagementApiClient;

  before(async () => {
    runtime = await startRuntime();
    api = new ApiGatewayManagementApiClient({
      endpoint: runtime.connectionsUrl,
      region: 'us-east-1',
      credentials: runtime.credentials,
    });
  });
  after(async () => {
    api?.destroy();
    await runtime?.close();
  });

  it('PostToConnection delivers the data to the client as a text frame', async () => {
    const { client, connectionId } = await connectWithId(runtime);
    await api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'hello from the SDK' }));
    expect(await client.next()).to.equal('hello from the SDK');
    await client.close();
  });

  it('GetConnection returns ConnectedAt, Identity and LastActiveAt, typed as against AWS', async () => {
    const { client, connectionId } = await connectWithId(runtime);
    const before = await api.send(new GetConnectionCommand({ ConnectionId: connectionId }));
    expect(before.ConnectedAt).to.be.instanceOf(Date);
    expect(before.LastActiveAt).to.be.instanceOf(Date);
    expect(before.Identity?.SourceIp).to.equal('127.0.0.1');
    expect((before.LastActiveAt as Date).getTime()).to.be.at.least((before.ConnectedAt as Date).getTime());
    await new Promise((resolve) => setTimeout(resolve, 20));
    client.send({ action: 'echo' });
    await client.next();
    const after = await api.send(new GetConnectionCommand({ ConnectionId: connectionId }));
    expect((after.LastActiveAt as Date).getTime()).to.be.greaterThan((before.LastActiveAt as Date).getTime());
    expect(after.ConnectedAt?.getTime()).to.equal(before.ConnectedAt?.getTime());
    await client.close();
  });

  it("GetConnection gives the client's User-Agent, which $connect sees too", async () => {
    const client = await connect(runtime.wsUrl, { headers: { 'User-Agent': 'test-agent/1.0' } });
    client.send({ action: 'echo' });
    const { event } = await client.nextJson<{ event: { requestContext: { connectionId: string; identity: unknown } } }>();
    const { connectionId } = event.requestContext;
    expect(event.requestContext.identity).to.deep.equal({ sourceIp: '127.0.0.1', userAgent: 'test-agent/1.0' });
    const info = await api.send(new GetConnectionCommand({ ConnectionId: connectionId }));
    expect(info.Identity?.UserAgent).to.equal('test-agent/1.0');
    await client.close();
  });

  it('DeleteConnection closes the client and $disconnect runs', async () => {
    const { client, connectionId } = await connectWithId(runtime);
    await api.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    const closed = await client.closed;
    expect(closed.code).to.equal(1000);
    const db = storeClient(runtime);
    const event = await keptEvent(db, runtime.tables.EventsTable as string, connectionId, '$disconnect');
    expect(event.requestContext).to.include({ disconnectStatusCode: 1000 });
    db.destroy();
  });

  it('raises GoneException (410) for an unknown connection, on POST, GET and DELETE', async () => {
    for (const command of [
      new PostToConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAAA=', Data: 'x' }),
      new GetConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAAA=' }),
      new DeleteConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAAA=' }),
    ]) {
      const error = await api.send(command as PostToConnectionCommand).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, command.constructor.name).to.be.instanceOf(GoneException);
      expect((error as GoneException).name).to.equal('GoneException');
      expect((error as GoneException).$metadata.httpStatusCode).to.equal(410);
    }
  });

  it('raises GoneException for a connection that has closed', async () => {
    const { client, connectionId } = await connectWithId(runtime);
    await client.close();
    const error = await api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'late' })).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(GoneException);
  });

  it('raises PayloadTooLargeException (413) over 128 KB, and delivers 128 KB exactly', async () => {
    const { client, connectionId } = await connectWithId(runtime);
    const error = await api
      .send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'x'.repeat(128 * 1024 + 1) }))
      .catch((e: unknown) => e);
    expect(error).to.be.instanceOf(PayloadTooLargeException);
    expect((error as PayloadTooLargeException).$metadata.httpStatusCode).to.equal(413);
    await api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'y'.repeat(128 * 1024) }));
    expect((await client.next()).length).to.equal(128 * 1024);
    await client.close();
  });
});
