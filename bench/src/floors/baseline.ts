/**
 * The baseline: the tutorial's sendmessage algorithm (chat-app.yaml's SendMessageFunction),
 * for comparison, not for use. Per message it scans the whole connections table, builds a
 * new Management API client, and posts to every connection at once with an unbounded
 * Promise.all, ignoring failures (no cleanup of gone connections).
 *
 * The tutorial has no rooms and posts to every connection in the table; so that it delivers
 * what the project delivers, the Scan here filters on the room. A filter does not reduce what
 * a Scan reads (DynamoDB charges for every item scanned), so its read cost is the tutorial's.
 */
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';

export interface TutorialMessage {
  table: string;
  room: string;
  /** The sender's connection id (the tutorial skips the sender). */
  sender: string;
  message: string;
  /** https://<api>.execute-api.<region>.amazonaws.com/<stage>, here the local runtime's. */
  managementEndpoint: string;
}

export interface TutorialResult {
  scanned: number;
  posted: number;
  failed: number;
}

export async function tutorialSendMessage(ddb: DynamoDBClient, event: TutorialMessage): Promise<TutorialResult> {
  // One Scan call, as in the tutorial (it does not paginate: past 1 MB it would miss connections).
  const connections = await ddb.send(
    new ScanCommand({
      TableName: event.table,
      FilterExpression: '#room = :room',
      ExpressionAttributeNames: { '#room': 'room' },
      ExpressionAttributeValues: { ':room': { S: event.room } },
    }),
  );
  const callbackApi = new ApiGatewayManagementApiClient({ endpoint: event.managementEndpoint });
  let posted = 0;
  let failed = 0;
  const sends = (connections.Items ?? []).map(async (item) => {
    const connectionId = item.connectionId?.S;
    if (!connectionId || connectionId === event.sender) return;
    try {
      await callbackApi.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: event.message }));
      posted += 1;
    } catch {
      failed += 1;
    }
  });
  await Promise.all(sends);
  callbackApi.destroy();
  return { scanned: connections.ScannedCount ?? 0, posted, failed };
}
