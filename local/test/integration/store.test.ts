/**
 * The embedded DynamoDB: the template's tables (keys, indexes) created in it, TTL deletion
 * emulated, data kept on disk when asked, and clear errors when a port is taken.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DescribeTableCommand, GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import type { LocalRuntime } from '../../src/index';
import { eventually, startRuntime, storeClient } from '../helpers';

const FOREIGN_APPS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures');

describe('local runtime: the embedded DynamoDB store (fixture templates)', () => {
  it("creates the template's tables under their own names, with their keys, indexes and TTL", async () => {
    // Prepare: the fixture's table is named by !Sub; cjs-rooms names its own, provisioned, with an index
    const runtimes = await Promise.all([startRuntime(), startRuntime({ templatePath: join(FOREIGN_APPS, 'cjs-rooms', 'template.yaml') })]);
    const [fixture, rooms] = runtimes as [LocalRuntime, LocalRuntime];
    const clients = runtimes.map(storeClient);
    const [fixtureDb, roomsDb] = clients as [DynamoDBClient, DynamoDBClient];
    try {
      // Act
      const [{ Table: events }, { Table: roomsTable }] = await Promise.all([
        fixtureDb.send(new DescribeTableCommand({ TableName: fixture.tables.EventsTable })),
        roomsDb.send(new DescribeTableCommand({ TableName: rooms.tables.RoomsTable })),
      ]);

      // Assess
      expect(fixture.tables).to.deep.equal({ EventsTable: 'local-events' });
      expect(events?.KeySchema).to.deep.equal([{ AttributeName: 'id', KeyType: 'HASH' }]);
      expect(fixture.template.tables.get('EventsTable')?.ttlAttribute, 'TTL swept by the runtime').to.equal('expiresAt');
      expect(rooms.tables).to.deep.equal({ RoomsTable: 'cjs-rooms-connections' });
      expect(roomsTable?.KeySchema).to.deep.equal([
        { AttributeName: 'room', KeyType: 'HASH' },
        { AttributeName: 'connectionId', KeyType: 'RANGE' },
      ]);
      expect(roomsTable?.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.KeySchema, i.Projection?.ProjectionType])).to.deep.equal([
        ['byConnection', [{ AttributeName: 'connectionId', KeyType: 'HASH' }], 'KEYS_ONLY'],
      ]);
    } finally {
      clients.forEach((c) => c.destroy());
      await Promise.all(runtimes.map((r) => r.close()));
    }
  });

  it('deletes items whose TTL attribute has passed, and only those', async () => {
    const runtime = await startRuntime({ limits: { ttlSweepMs: 100 } });
    const db = storeClient(runtime);
    const table = runtime.tables.EventsTable as string;
    const now = Math.floor(Date.now() / 1000);
    try {
      const put = (id: string, expiresAt?: number): Promise<unknown> =>
        db.send(
          new PutItemCommand({
            TableName: table,
            Item: { id: { S: id }, ...(expiresAt === undefined ? {} : { expiresAt: { N: String(expiresAt) } }) },
          }),
        );
      await Promise.all([put('expired', now - 10), put('later', now + 3600), put('no-ttl')]);
      const exists = async (id: string): Promise<boolean> =>
        (await db.send(new GetItemCommand({ TableName: table, Key: { id: { S: id } } }))).Item !== undefined;
      await eventually(async () => ((await exists('expired')) ? undefined : true), 10_000, 'the expired item deleted');
      expect(await exists('later')).to.equal(true);
      expect(await exists('no-ttl')).to.equal(true);
    } finally {
      db.destroy();
      await runtime.close();
    }
  });

  it('keeps the data on disk with dataDir, across restarts', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'local-runtime-test-'));
    try {
      let runtime: LocalRuntime = await startRuntime({ dataDir });
      let db = storeClient(runtime);
      const table = runtime.tables.EventsTable as string;
      await db.send(new PutItemCommand({ TableName: table, Item: { id: { S: 'kept' } } }));
      db.destroy();
      await runtime.close();

      runtime = await startRuntime({ dataDir });
      db = storeClient(runtime);
      const { Item } = await db.send(new GetItemCommand({ TableName: table, Key: { id: { S: 'kept' } } }));
      expect(Item?.id?.S).to.equal('kept');
      db.destroy();
      await runtime.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('says which port is taken', async () => {
    const first = await startRuntime();
    try {
      const dynamodbPort = Number(new URL(first.dynamodbEndpoint).port);
      const port = Number(new URL(first.httpUrl).port);
      const storeTaken = await startRuntime({ dynamodbPort }).catch((e: unknown) => e);
      expect((storeTaken as Error).message).to.match(new RegExp(`port ${dynamodbPort} \\(DYNAMODB_PORT\\) is in use`));
      const apiTaken = await startRuntime({ port }).catch((e: unknown) => e);
      expect((apiTaken as Error).message).to.match(new RegExp(`port ${port} is in use`));
    } finally {
      await first.close();
    }
  });
});
