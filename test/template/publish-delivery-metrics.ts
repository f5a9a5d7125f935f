/**
 * Run by operations.test.ts in a child process, with a function's Powertools environment from the
 * generated template: chat-core broadcasts one frame to one connection whose post fails (not
 * "gone"), then flushes its metrics as its handlers do on Lambda. The EMF line on stdout is what
 * CloudWatch turns into the DeliveryFailures metric the alarm watches.
 */
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { mockClient } from 'aws-sdk-client-mock';
import { metrics } from 'chat-core';
import { broadcast } from '../../layers/chat-core/src/delivery/broadcast';

async function main(): Promise<void> {
  mockClient(ApiGatewayManagementApiClient).on(PostToConnectionCommand).rejects(new Error('post failed'));
  const result = await broadcast([[{ connectionId: 'metrics-probe', protocol: 'plain' }]], {
    type: 'message',
    id: '01HQ3Z9V5X8G2M4N6P7R8S9T0V',
    room: 'lobby',
    name: 'probe',
    text: 'hello, everyone!',
    sentAt: '2022-01-25T18:50:07.642Z',
  });
  if (result.failed !== 1) throw new Error(`expected one failed delivery, got ${JSON.stringify(result)}`);
  metrics.publishStoredMetrics();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
