/** A started local runtime and the clients of local/test/helpers.ts, for the integration tests. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { startLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from '../../local/src/index';
import { type Client, connect, eventually } from '../../local/test/helpers';

export { Client, type Closed, connect, eventually, refusal, storeClient } from '../../local/test/helpers';

const here = dirname(fileURLToPath(import.meta.url));
export const FIXTURE_TEMPLATE = join(here, 'fixtures', 'template.yaml');
export const PROJECT_TEMPLATE = join(here, '..', '..', 'template.yaml');

/**
 * The limits per identity lifted, for the project's template: every test client comes from
 * 127.0.0.1, where on AWS as many people would come from as many addresses. The tests of those
 * limits (chat-limits.test.ts) set them again.
 */
export const ONE_ADDRESS_FOR_ALL = {
  ConnectRateLimit: '100000',
  IdentityMessageRateLimit: '100000',
  IdentityRequestRateLimit: '100000',
};

/** A runtime on ephemeral ports with in-memory data, silent. */
export function startRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  return startLocalRuntime({ templatePath: FIXTURE_TEMPLATE, port: 0, dynamodbPort: 0, quiet: true, prewarm: false, ...options });
}

/** The event a fixture function kept for (connection, route), once it is there. */
export function keptEvent(db: DynamoDBClient, table: string, connectionId: string, routeKey: string): Promise<Record<string, unknown>> {
  return eventually(
    async () => {
      const { Item } = await db.send(new GetItemCommand({ TableName: table, Key: { id: { S: `${connectionId}/${routeKey}` } } }));
      return Item?.event?.S === undefined ? undefined : (JSON.parse(Item.event.S) as Record<string, unknown>);
    },
    10_000,
    `${routeKey} event of ${connectionId}`,
  );
}

/** Connects and learns the connection id through the fixture's echo route. */
export async function connectWithId(runtime: LocalRuntime, query = ''): Promise<{ client: Client; connectionId: string }> {
  const client = await connect(`${runtime.wsUrl}${query}`);
  client.send({ action: 'echo' });
  const { event } = await client.nextJson<{ event: { requestContext: { connectionId: string } } }>();
  return { client, connectionId: event.requestContext.connectionId };
}
