/**
 * What a sandbox does for handlers written for Lambda rather than for the local runtime: their
 * AWS calls to AWS host names reach the local services (sandbox-redirect.ts), and SAM policy
 * templates become statements local IAM evaluates (policy-templates.ts). The whole path, with
 * real handlers and clients, is test/integration/foreign-apps.test.ts.
 */
import { expect } from 'chai';
import { expandPolicyTemplate } from '../../src/template/policy-templates';
import { AWS_SERVICE_HOST, localTarget } from '../../src/lambda/sandbox-redirect';

const SERVICES = { origin: 'http://127.0.0.1:3001', dynamodb: 'http://127.0.0.1:8000' };
const AT = { partition: 'aws', region: 'us-east-1', accountId: '123456789012' };

describe('sandbox redirection of AWS calls', () => {
  it('sends the Management API of any API id, and DynamoDB and SQS of any region, to the local services', () => {
    expect(localTarget('abc123xyz.execute-api.us-east-1.amazonaws.com', '443', SERVICES)?.href).to.equal('http://127.0.0.1:3001/');
    expect(localTarget('q1w2e3.execute-api.eu-west-3.amazonaws.com', '443', SERVICES)?.href).to.equal('http://127.0.0.1:3001/');
    expect(localTarget('dynamodb.ap-southeast-2.amazonaws.com', '443', SERVICES)?.href).to.equal('http://127.0.0.1:8000/');
    expect(localTarget('sqs.us-west-2.amazonaws.com', '443', SERVICES)?.href).to.equal('http://127.0.0.1:3001/');
  });

  it("sends https:// to the runtime's own address (an endpoint built from the event's domainName) there too", () => {
    expect(localTarget('127.0.0.1', '3001', SERVICES)?.href).to.equal('http://127.0.0.1:3001/');
    expect(localTarget('localhost', '3001', SERVICES)?.href).to.equal('http://127.0.0.1:3001/');
  });

  it('leaves every other host alone, other ports of this machine and look-alike names included', () => {
    expect(localTarget('127.0.0.1', '3002', SERVICES)).to.equal(undefined);
    expect(localTarget('example.com', '443', SERVICES)).to.equal(undefined);
    expect(localTarget('s3.us-east-1.amazonaws.com', '443', SERVICES)).to.equal(undefined);
    expect(localTarget('dynamodb.us-east-1.amazonaws.com.evil.example', '443', SERVICES)).to.equal(undefined);
    expect(AWS_SERVICE_HOST.test('execute-api.us-east-1.amazonaws.com')).to.equal(false);
  });
});

describe('SAM policy templates', () => {
  it("expands DynamoDBCrudPolicy to the table and its indexes, with SAM's actions", () => {
    const statements = expandPolicyTemplate('DynamoDBCrudPolicy', { TableName: 'connections' }, AT);
    expect(statements).to.deep.equal([
      {
        Action: [
          'dynamodb:GetItem',
          'dynamodb:Scan',
          'dynamodb:Query',
          'dynamodb:BatchGetItem',
          'dynamodb:DescribeTable',
          'dynamodb:DeleteItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:BatchWriteItem',
          'dynamodb:ConditionCheckItem',
        ],
        Resource: [
          'arn:aws:dynamodb:us-east-1:123456789012:table/connections',
          'arn:aws:dynamodb:us-east-1:123456789012:table/connections/index/*',
        ],
      },
    ]);
  });

  it('gives the read and write templates only their own actions', () => {
    const read = expandPolicyTemplate('DynamoDBReadPolicy', { TableName: 't' }, AT) as { Action: string[] }[];
    const write = expandPolicyTemplate('DynamoDBWritePolicy', { TableName: 't' }, AT) as { Action: string[] }[];
    expect(read[0]?.Action).to.include('dynamodb:Query').and.not.include('dynamodb:PutItem');
    expect(write[0]?.Action).to.include('dynamodb:PutItem').and.not.include('dynamodb:Query').and.not.include('dynamodb:DeleteItem');
    expect(expandPolicyTemplate('SQSSendMessagePolicy', { QueueName: 'q' }, AT)).to.deep.equal([
      { Action: ['sqs:SendMessage*'], Resource: ['arn:aws:sqs:us-east-1:123456789012:q'] },
    ]);
  });

  it('says why a template cannot be evaluated: one of a service not played here, or a missing parameter', () => {
    expect(expandPolicyTemplate('S3ReadPolicy', { BucketName: 'b' }, AT)).to.match(/S3ReadPolicy cannot be evaluated locally/);
    expect(expandPolicyTemplate('DynamoDBCrudPolicy', {}, AT)).to.equal('policy template DynamoDBCrudPolicy lacks TableName');
  });
});
