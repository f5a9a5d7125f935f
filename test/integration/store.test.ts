/**
 * The embedded DynamoDB: the template's tables (keys, indexes) created in it, TTL deletion
 * emulated, data kept on disk when asked, and clear errors when a port is taken.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import type { LocalRuntime } from '../../local/src/index';
import { eventually, PROJECT_TEMPLATE, startRuntime, storeClient } from './helpers';

describe('local DynamoDB store', () => {
  it("creates the project template's tables with their keys and indexes", async () => {
    const runtime = await startRuntime({ templatePath: PROJECT_TEMPLATE });
    const db = storeClient(runtime);
    try {
      expect(runtime.tables).to.deep.equal({
        ConnectionsTable: 'ConnectionsTable',
        MessagesTable: 'MessagesTable',
        RateLimitsTable: 'RateLimitsTable',
      });
      const { Table: connections } = await db.send(new DescribeTableCommand({ TableName: 'ConnectionsTable' }));
      expect(connections?.KeySchema).to.deep.equal([{ AttributeName: 'connectionId', KeyType: 'HASH' }]);
      const byRoom = connections?.GlobalSecondaryIndexes?.find((i) => i.IndexName === 'byRoom');
      expect(byRoom?.KeySchema).to.deep.equal([
        { AttributeName: 'room', KeyType: 'HASH' },
        { AttributeName: 'connectionId', KeyType: 'RANGE' },
      ]);
      const declared = runtime.template.tables.get('ConnectionsTable')?.globalSecondaryIndexes.find((i) => i.IndexName === 'byRoom');
      expect(byRoom?.Projection, 'the projection the template declares').to.deep.equal(declared?.Projection);
      expect(byRoom?.Projection?.ProjectionType).to.be.a('string');
      const { Table: messages } = await db.send(new DescribeTableCommand({ TableName: 'MessagesTable' }));
      expect(messages?.KeySchema).to.deep.equal([
        { AttributeName: 'room', KeyType: 'HASH' },
        { AttributeName: 'id', KeyType: 'RANGE' },
      ]);
      const { Table: buckets } = await db.send(new DescribeTableCommand({ TableName: 'RateLimitsTable' }));
      expect(buckets?.KeySchema).to.deep.equal([{ AttributeName: 'bucket', KeyType: 'HASH' }]);
    } finally {
      db.destroy();
      await runtime.close();
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
