/**
 * The AWS tutorial's Step 3, locally, exactly as it shows it: two plain clients (what
 * `wscat -c <url>` is), the real handlers of template.yaml behind the local runtime.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import type { LocalRuntime } from '../../local/src/index';
import { connect, eventually, PROJECT_TEMPLATE, startRuntime, storeClient, type Client } from './helpers';

const INFO = /^Use the sendmessage route to send a message\. Your info: (\{.*\})$/;

describe("the tutorial's Step 3, locally (template.yaml, real handlers)", () => {
  let runtime: LocalRuntime;
  let db: ReturnType<typeof storeClient>;
  let first: Client;
  let second: Client;

  before(async () => {
    runtime = await startRuntime({ templatePath: PROJECT_TEMPLATE });
    db = storeClient(runtime);
  });
  beforeEach(async () => {
    first = await connect(runtime.wsUrl);
    second = await connect(runtime.wsUrl);
  });
  afterEach(async () => {
    await Promise.all([first?.close(), second?.close()]);
  });
  after(async () => {
    db?.destroy();
    await runtime?.close();
  });

  it('serves ws://127.0.0.1:<port>/production', () => {
    expect(runtime.wsUrl).to.match(/^ws:\/\/127\.0\.0\.1:\d+\/production$/);
  });

  it('sendmessage: the other client receives exactly "hello, everyone!"', async () => {
    first.send('{"action":"sendmessage","message":"hello, everyone!"}');
    expect(await second.next(15_000)).to.equal('hello, everyone!');
  });

  it('any other message: $default answers the sender with its connection info', async () => {
    second.send('test');
    const reply = await second.next(15_000);
    const match = INFO.exec(reply);
    expect(match, reply).to.not.equal(null);
    const info = JSON.parse((match as RegExpExecArray)[1] as string) as Record<string, unknown>;
    expect(Object.keys(info)).to.deep.equal(['ConnectedAt', 'Identity', 'LastActiveAt', 'connectionID']);
    expect(info.ConnectedAt).to.match(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(info.LastActiveAt).to.match(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(info.Identity).to.deep.equal({ SourceIp: '127.0.0.1', UserAgent: null });
    expect(info.connectionID).to.match(/^[A-Za-z0-9_-]{15}=$/);
    expect(await first.quietFor(300)).to.deep.equal([]);
  });

  it('disconnect removes the connection from the connections table', async () => {
    second.send('test');
    const info = JSON.parse((INFO.exec(await second.next(15_000)) as RegExpExecArray)[1] as string) as { connectionID: string };
    const item = async (): Promise<unknown> =>
      (
        await db.send(
          new GetItemCommand({
            TableName: runtime.tables.ConnectionsTable,
            Key: { connectionId: { S: info.connectionID } },
          }),
        )
      ).Item;
    expect(await item()).to.not.equal(undefined);
    await second.close();
    await eventually(async () => ((await item()) === undefined ? true : undefined), 15_000, 'the connection item deleted');
  });
});
