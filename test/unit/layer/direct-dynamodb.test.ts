/**
 * The direct path of the item calls (platform/direct-dynamodb.ts), against a real HTTP server on
 * 127.0.0.1 that answers as DynamoDB does: what it sends next to what the SDK's own stack sends,
 * its signature checked as the local runtime's store door checks it, what it gives back next to
 * what the SDK gives back, and which answers go through the SDK's stack (sent once).
 *
 * The suite's SDK mock replaces every DynamoDB client's `send`; a command here runs the way `send`
 * runs it (its middleware resolved over the client's stack), so the stack is real.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import { withDirectCalls } from '../../../layers/chat-core/src/platform/direct-dynamodb';
import { untraced } from '../../../layers/chat-core/src/platform/observability';
import { verifySigV4 } from '../../../local/src/iam/sigv4';
import { expectRejection, runAsSend } from '../helpers';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface Answer {
  status: number;
  body: unknown;
}

const CREDENTIALS = { accessKeyId: 'AKIDDYNAMO', secretAccessKey: 'dynamo-secret', sessionToken: 'dynamo-token' };
const OK_ITEM: Answer = {
  status: 200,
  body: { Item: { room: { S: 'lobby' }, n: { N: '7' }, key: { B: 'AAEC/w==' }, keys: { BS: ['AQ=='] } } },
};
const THROTTLED: Answer = {
  status: 400,
  body: { __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'Rate exceeded' },
};
const CONDITION_FAILED: Answer = {
  status: 400,
  body: {
    __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
    message: 'The conditional request failed',
    Item: { tokens: { N: '0' } },
  },
};

/** The SDK's own requests carry its user agent; the direct path's do not. */
const fromSdk = (request: Received): boolean =>
  /aws-sdk-js/.test(String(request.headers['x-amz-user-agent'] ?? request.headers['user-agent']));

describe('layer: direct DynamoDB calls', () => {
  let server: Server;
  let received: Received[];
  /** The answer each request gets, in turn (the last one repeats). */
  let answers: Answer[];
  let endpoint: string;

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        const answer = (answers.length > 1 ? answers.shift() : answers[0]) as Answer;
        const body = JSON.stringify(answer.body);
        res
          .writeHead(answer.status, {
            'content-type': 'application/x-amz-json-1.0',
            'content-length': Buffer.byteLength(body),
            'x-amzn-requestid': `request-${received.length}`,
          })
          .end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  beforeEach(() => {
    received = [];
    answers = [OK_ITEM];
  });

  const client = (direct = true): DynamoDBClient => {
    const plain = new DynamoDBClient({ endpoint, region: 'eu-west-1', credentials: CREDENTIALS, maxAttempts: 3 });
    return direct ? withDirectCalls(plain, untraced) : plain;
  };

  const getItem = () => new GetItemCommand({ TableName: 'connections', Key: { connectionId: { S: 'abc=' } }, ConsistentRead: true });

  const verified = (request: Received) =>
    verifySigV4(request, request.body, {
      service: 'dynamodb',
      secretOf: (id) => (id === CREDENTIALS.accessKeyId ? CREDENTIALS.secretAccessKey : undefined),
    });

  it("sends what the SDK sends, to the endpoint the SDK resolved on the client's first call, and gives back what the SDK gives back, bytes included", async () => {
    // Arrange
    const c = client();

    // Act
    const viaSdk = await runAsSend(c, getItem());
    const direct = await runAsSend(c, getItem());

    // Assess
    const [first, second] = received as [Received, Received];
    expect(received).to.have.length(2);
    expect(fromSdk(first), 'the first call, before any endpoint is known, goes through the SDK').to.equal(true);
    expect(fromSdk(second), 'the second takes the direct path').to.equal(false);
    expect(second.method).to.equal(first.method);
    expect(second.url).to.equal(first.url);
    expect(JSON.parse(second.body.toString())).to.deep.equal(JSON.parse(first.body.toString()));
    for (const name of ['content-type', 'x-amz-target', 'x-amz-security-token', 'x-amz-content-sha256', 'host']) {
      expect(second.headers[name], name).to.equal(first.headers[name]);
    }
    expect(await verified(second)).to.deep.equal({ accessKeyId: CREDENTIALS.accessKeyId });
    expect(second.headers['amz-sdk-request']).to.equal('attempt=1; max=3');
    expect(direct.Item).to.deep.equal(viaSdk.Item);
    expect(direct.Item?.key?.B).to.be.instanceOf(Uint8Array);
    expect(Buffer.from(direct.Item?.key?.B as Uint8Array)).to.deep.equal(Buffer.from([0, 1, 2, 255]));
    expect(direct.$metadata).to.include({ httpStatusCode: 200, requestId: 'request-2', attempts: 1 });
  });

  it('hands a failed condition to the SDK as it came: its modeled error, Item included, after one request', async () => {
    // Arrange
    const c = client();
    await runAsSend(c, getItem());
    answers = [CONDITION_FAILED];
    received = [];
    const update = new UpdateItemCommand({
      TableName: 'limits',
      Key: { bucket: { S: 'user#1' } },
      UpdateExpression: 'SET tokens = tokens - :one',
      ConditionExpression: 'tokens > :zero',
      ExpressionAttributeValues: { ':one': { N: '1' }, ':zero': { N: '0' } },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });

    // Act
    const error = await expectRejection(runAsSend(c, update));

    // Assess
    expect(error).to.be.instanceOf(ConditionalCheckFailedException);
    expect((error as ConditionalCheckFailedException).Item).to.deep.equal({ tokens: { N: '0' } });
    expect(received, 'the write is not sent again').to.have.length(1);
    expect(fromSdk(received[0] as Received)).to.equal(false);
  });

  it("lets the SDK retry a throttled call as the same call: its next attempt, the direct attempt's invocation id", async () => {
    // Arrange
    const c = client();
    await runAsSend(c, getItem());
    answers = [THROTTLED, OK_ITEM];
    received = [];

    // Act
    const output = await runAsSend(c, getItem());

    // Assess
    const [throttled, retried] = received as [Received, Received];
    expect(received).to.have.length(2);
    expect(fromSdk(throttled)).to.equal(false);
    expect(fromSdk(retried)).to.equal(true);
    expect(retried.headers['amz-sdk-invocation-id']).to.equal(throttled.headers['amz-sdk-invocation-id']);
    expect(retried.headers['amz-sdk-request']).to.equal('attempt=2; max=3');
    expect(await verified(retried)).to.deep.equal({ accessKeyId: CREDENTIALS.accessKeyId });
    expect(output.Item?.room).to.deep.equal({ S: 'lobby' });
    expect(output.$metadata.attempts).to.equal(2);
  });

  describe('traced', () => {
    interface Recorded {
      name: string;
      attributes: Record<string, unknown>;
      fields: { start_time?: number; end_time?: number; in_progress?: boolean };
      closed: boolean;
      flushed: boolean;
    }
    let recorded: Recorded[];
    let parent: {
      parent?: object;
      counter: number;
      closed: boolean;
      children: unknown[];
      addNewSubsegment(name: string): unknown;
      decrementCounter(): void;
      isClosed(): boolean;
      removeSubsegment(child: unknown): void;
    };

    /** A parent as the X-Ray SDK's: the invocation's subsegment (`parent` set), or the segment itself. */
    const makeParent = (isSubsegment: boolean): typeof parent => ({
      ...(isSubsegment && { parent: {} }),
      counter: 0,
      closed: false,
      children: [],
      addNewSubsegment(name: string) {
        const entry: Recorded = { name, attributes: {}, fields: { in_progress: true }, closed: false, flushed: false };
        recorded.push(entry);
        this.counter += 1;
        const child = Object.assign(entry.fields, {
          addAttribute: (key: string, value: unknown) => void (entry.attributes[key] = value),
          close: () => void (entry.closed = true),
          flush: () => void (entry.flushed = true),
        });
        this.children.push(child);
        return child;
      },
      decrementCounter() {
        this.counter -= 1;
      },
      isClosed() {
        return this.closed;
      },
      removeSubsegment(child: unknown) {
        this.children = this.children.filter((c) => c !== child);
      },
    });

    const tracedClient = async (): Promise<DynamoDBClient> => {
      const c = withDirectCalls(new DynamoDBClient({ endpoint, region: 'eu-west-1', credentials: CREDENTIALS }), {
        ...untraced,
        getSegment: () => parent as never,
      });
      await runAsSend(c, getItem());
      return c;
    };

    beforeEach(() => {
      recorded = [];
      parent = makeParent(true);
    });

    it('records each direct call as the X-Ray SDK records a DynamoDB call: a DynamoDB subsegment, namespace aws, its operation, table and request id', async () => {
      // Arrange
      const c = await tracedClient();
      const before = Date.now() / 1000;

      // Act
      await runAsSend(c, getItem());

      // Assess
      expect(recorded).to.have.length(1);
      const [call] = recorded as [Recorded];
      expect(call.name).to.equal('DynamoDB');
      expect(call.fields.start_time).to.be.within(before, Date.now() / 1000);
      expect(call.fields.end_time).to.be.within(call.fields.start_time as number, Date.now() / 1000);
      expect(call.fields.in_progress, 'closed as the SDK closes a subsegment').to.equal(undefined);
      expect(parent.counter, 'no open child left').to.equal(0);
      expect(call.attributes.namespace).to.equal('aws');
      expect(call.attributes.aws).to.deep.include({
        operation: 'GetItem',
        region: 'eu-west-1',
        table_name: 'connections',
        request_id: 'request-2',
      });
      expect(call.attributes.http).to.deep.equal({ response: { status: 200, content_length: JSON.stringify(OK_ITEM.body).length } });
    });

    it('sends the subsegment on the next turn of the event loop, not while the call returns; not at all when its parent closed first and took it along', async () => {
      // Arrange
      const c = await tracedClient();

      // Act
      await runAsSend(c, getItem());
      const flushedAtReturn = recorded[0]?.flushed;
      await new Promise((resolve) => setImmediate(resolve));
      const secondCall = runAsSend(c, getItem());
      await secondCall;
      parent.closed = true;
      await new Promise((resolve) => setImmediate(resolve));

      // Assess
      expect(flushedAtReturn, 'sent while the call returned').to.equal(false);
      expect(recorded[0]?.flushed, 'sent on the next turn').to.equal(true);
      expect(parent.children, 'the sent one is no longer its parent’s child; the other went with its parent').to.have.length(1);
      expect(recorded[1]?.flushed, 'sent again after its parent').to.equal(false);
    });

    it('closes a call recorded under the segment itself at once, as the SDK does', async () => {
      // Arrange
      parent = makeParent(false);
      const c = await tracedClient();

      // Act
      await runAsSend(c, getItem());

      // Assess
      expect(recorded[0]?.closed).to.equal(true);
    });
  });

  it('leaves to the SDK what it does not take: other operations, and bytes in the input', async () => {
    // Arrange
    const c = client();
    await runAsSend(c, getItem());
    answers = [{ status: 200, body: { UnprocessedItems: {} } }];
    received = [];

    // Act
    await runAsSend(c, new BatchWriteItemCommand({ RequestItems: { t: [{ DeleteRequest: { Key: { id: { S: 'x' } } } }] } }));
    await runAsSend(c, new GetItemCommand({ TableName: 't', Key: { id: { B: new Uint8Array([1, 2]) } } }));

    // Assess
    expect(received).to.have.length(2);
    expect(received.every(fromSdk)).to.equal(true);
    expect(JSON.parse((received[1] as Received).body.toString()).Key).to.deep.equal({ id: { B: 'AQI=' } });
  });
});
