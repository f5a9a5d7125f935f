/**
 * The template's SQS queues and event source mappings, locally: a function sends with the real
 * SQS client (the queue URL from the template points at the runtime), the mapped function
 * receives the batch, and messages it reports as failed are retried, then dead-lettered.
 */
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { expect } from 'chai';
import type { LocalRuntime } from '../../src/index';
import { connect, eventually, startRuntime } from '../helpers';

describe('local SQS queues and event source mappings', () => {
  let runtime: LocalRuntime;
  let sqs: SQSClient;
  const queueUrl = (name: string): string => `${runtime.httpUrl}123456789012/${name}`;

  before(async () => {
    runtime = await startRuntime();
    sqs = new SQSClient({
      endpoint: runtime.httpUrl,
      region: 'us-east-1',
      credentials: runtime.credentials,
    });
  });
  after(async () => {
    sqs?.destroy();
    await runtime?.close();
  });

  it('delivers what a function queues to the mapped function', async () => {
    const client = await connect(runtime.wsUrl);
    client.send({ action: 'enqueue', text: 'via the queue' });
    expect(await client.next()).to.equal('queued: via the queue');
    await client.close();
  });

  it('retries a message the function reports as failed, then moves it to the dead-letter queue', async () => {
    const client = await connect(runtime.wsUrl);
    client.send({ action: 'enqueue', text: 'doomed', fail: true });
    const moved = await eventually(
      async () => {
        const { Attributes } = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: queueUrl('FixtureDeadLetterQueue'),
            AttributeNames: ['ApproximateNumberOfMessages'],
          }),
        );
        return Attributes?.ApproximateNumberOfMessages === '1' ? true : undefined;
      },
      15_000,
      'the message in the dead-letter queue',
    );
    expect(moved).to.equal(true);
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl('FixtureDeadLetterQueue'), MaxNumberOfMessages: 10 }),
    );
    expect(Messages).to.have.length(1);
    expect(JSON.parse(Messages?.[0]?.Body ?? '{}')).to.include({ text: 'doomed', fail: true });
    await client.close();
  });

  it("answers the SQS JSON protocol with the SDK's typed errors", async () => {
    const error = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl('NoSuchQueue'), MessageBody: 'x' })).catch((e: unknown) => e);
    expect((error as Error).name).to.equal('QueueDoesNotExist');
  });
});
