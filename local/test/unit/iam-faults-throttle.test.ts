/**
 * The local runtime's IAM evaluation, fault choices and stage throttling, on their own:
 * wildcard matching as IAM does it, explicit deny, the policies SAM builds from the project
 * template, how DynamoDB and SQS requests are named, LOCAL_FAULTS, and the token bucket.
 */
import { join } from 'node:path';
import { expect } from 'chai';
import { dynamodbCalls } from '../../src/dynamodb/iam-calls';
import { sqsAction } from '../../src/sqs/sqs-door';
import { Faults } from '../../src/faults/faults';
import { parseFaults } from '../../src/faults/spec';
import { accessKeyIdFor, accessKeyIdOf, evaluate, LocalIam, secretAccessKeyFor, wildcardMatch, type Statement } from '../../src/iam/iam';
import { loadTemplate, type TemplateModel } from '../../src/template/template';
import { StageThrottle } from '../../src/apigateway/throttle';

const TEMPLATE = join(import.meta.dirname ?? '.', '..', '..', '..', 'template.yaml');

describe('local IAM', () => {
  let model: TemplateModel;
  before(async () => {
    model = await loadTemplate(TEMPLATE);
  });

  it('matches * and ? as IAM does (actions without case, resources with)', () => {
    expect(wildcardMatch('dynamodb:Get*', 'dynamodb:getitem', true)).to.equal(true);
    expect(wildcardMatch('dynamodb:Get*', 'dynamodb:getitem')).to.equal(false);
    expect(
      wildcardMatch('arn:aws:execute-api:r:1:api/prod/POST/@connections/*', 'arn:aws:execute-api:r:1:api/prod/POST/@connections/a/b='),
    ).to.equal(true);
    expect(
      wildcardMatch('arn:aws:execute-api:r:1:api/prod/POST/@connections/*', 'arn:aws:execute-api:r:1:api/prod/GET/@connections/a'),
    ).to.equal(false);
    expect(wildcardMatch('table/T?', 'table/T1')).to.equal(true);
    expect(wildcardMatch('table/T?', 'table/T12')).to.equal(false);
    expect(wildcardMatch('table/a.b', 'table/aXb')).to.equal(false);
  });

  it('allows what a statement allows, denies the rest, and lets an explicit Deny win', () => {
    const statements: Statement[] = [
      { Effect: 'Allow', Action: ['dynamodb:*'], Resource: ['arn:t/*'], source: 'a' },
      { Effect: 'Deny', Action: ['dynamodb:DeleteItem'], Resource: ['*'], source: 'd' },
    ];
    expect(evaluate(statements, 'dynamodb:GetItem', 'arn:t/x').allowed).to.equal(true);
    expect(evaluate(statements, 'dynamodb:GetItem', 'arn:u/x')).to.deep.include({ allowed: false });
    expect(evaluate(statements, 'dynamodb:DeleteItem', 'arn:t/x').reason).to.match(/explicit deny/);
    expect(evaluate([{ Effect: 'Allow', NotAction: ['sqs:*'], Resource: ['*'], source: 'n' }], 'sqs:SendMessage', 'q').allowed).to.equal(
      false,
    );
  });

  it("reads each function's statements from the template, intrinsics resolved to local ARNs", () => {
    const iam = new LocalIam(model);
    const fanout = iam.roles.get('FanoutFunction');
    expect(fanout?.enforceable).to.equal(true);
    expect(fanout?.statements[0]).to.deep.include({
      Effect: 'Allow',
      Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:SendMessage'],
      Resource: ['arn:aws:sqs:us-east-1:123456789012:FanoutQueue'],
    });
    const post = iam.roles.get('SendMessageFunction')?.statements.find((s) => s.Action?.includes('execute-api:ManageConnections'));
    expect(post?.Resource).to.deep.equal([`arn:aws:execute-api:us-east-1:123456789012:${model.apiId}/production/POST/@connections/*`]);
    expect(iam.warnings()).to.deep.equal([]);
  });

  it('attributes a call by its access key, decides, records, and reports grants with their use', () => {
    const iam = new LocalIam(model);
    const auth = `AWS4-HMAC-SHA256 Credential=${accessKeyIdFor('HistoryFunction')}/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x`;
    expect(accessKeyIdOf(auth)).to.equal(accessKeyIdFor('HistoryFunction'));
    expect(iam.principal(auth)).to.equal('HistoryFunction');
    expect(iam.principal('AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/dynamodb/aws4_request')).to.equal(undefined);
    const table = 'arn:aws:dynamodb:us-east-1:123456789012:table/MessagesTable';
    expect(iam.authorize('HistoryFunction', [{ action: 'dynamodb:Query', resource: table }])).to.deep.include({ allowed: true });
    const denied = iam.authorize('HistoryFunction', [{ action: 'dynamodb:PutItem', resource: table }]);
    expect(denied).to.deep.include({ allowed: false, enforced: true });
    const report = iam.report().find((r) => r.functionId === 'HistoryFunction');
    expect(report?.grants.find((g) => g.action === 'dynamodb:Query')?.used).to.equal(1);
    expect(report?.denied.map((d) => d.action)).to.deep.equal(['dynamodb:PutItem']);
    iam.mode = 'audit';
    expect(iam.authorize('HistoryFunction', [{ action: 'dynamodb:PutItem', resource: table }])).to.deep.include({
      allowed: true,
      enforced: false,
    });
  });

  it('decides a pair asked again as the first time, and records every call of it', () => {
    const iam = new LocalIam(model);
    const table = 'arn:aws:dynamodb:us-east-1:123456789012:table/MessagesTable';
    const ask = (action: string) => iam.authorize('HistoryFunction', [{ action, resource: table }]);
    const answers = [ask('dynamodb:Query'), ask('dynamodb:PutItem'), ask('dynamodb:Query'), ask('dynamodb:PutItem')];
    expect(answers.map((a) => a.allowed)).to.deep.equal([true, false, true, false]);
    expect(iam.usage().map(({ action, calls, denied }) => ({ action, calls, denied }))).to.deep.equal([
      { action: 'dynamodb:Query', calls: 2, denied: 0 },
      { action: 'dynamodb:PutItem', calls: 2, denied: 2 },
    ]);
    expect(iam.denied()).to.have.length(2);
    expect(iam.secretOf(accessKeyIdFor('HistoryFunction'))).to.equal(secretAccessKeyFor('HistoryFunction'));
    expect(iam.secretOf('AKIDNOTOURS')).to.equal(undefined);
  });

  it('names DynamoDB and SQS requests as IAM does', () => {
    const t = (name: string): string => `arn:aws:dynamodb:us-east-1:123456789012:table/${name}`;
    expect(dynamodbCalls(model, 'Query', { TableName: 'C', IndexName: 'byRoom' })).to.deep.equal([
      { action: 'dynamodb:Query', resource: `${t('C')}/index/byRoom` },
    ]);
    expect(dynamodbCalls(model, 'BatchWriteItem', { RequestItems: { A: [], B: [] } })).to.deep.equal([
      { action: 'dynamodb:BatchWriteItem', resource: t('A') },
      { action: 'dynamodb:BatchWriteItem', resource: t('B') },
    ]);
    expect(
      dynamodbCalls(model, 'TransactWriteItems', { TransactItems: [{ Put: { TableName: 'A' } }, { ConditionCheck: { TableName: 'B' } }] }),
    ).to.deep.equal([
      { action: 'dynamodb:PutItem', resource: t('A') },
      { action: 'dynamodb:ConditionCheckItem', resource: t('B') },
    ]);
    expect(sqsAction('SendMessageBatch')).to.equal('sqs:SendMessage');
    expect(sqsAction('ReceiveMessage')).to.equal('sqs:ReceiveMessage');
  });
});

describe('local faults', () => {
  it('reads LOCAL_FAULTS', () => {
    expect(parseFaults('post429=10%,post500=0.05,dynamodbThrottling=5%,dynamodbDown,timeout=1%,timeoutFunctions=A+B,seed=7')).to.deep.equal(
      {
        seed: 7,
        post: { throttle: 0.1, error: 0.05 },
        dynamodb: { throttling: 0.05, down: true },
        timeout: { share: 0.01, functions: ['A', 'B'] },
      },
    );
    expect(parseFaults('')).to.equal(undefined);
    expect(() => parseFaults('post429=150%')).to.throw(/share/);
    expect(() => parseFaults('nope=1')).to.throw(/unknown fault/);
  });

  it('faults a share of logical calls on their first attempts only, counts the retries that went through, and names the caller of each faulted attempt', () => {
    const faults = new Faults({ seed: 3, post: { throttle: 0.5, attempts: 2 } });
    let faulted = 0;
    const byCaller: Record<string, number> = {};
    for (let call = 0; call < 200; call += 1) {
      const id = `call-${call}`;
      const caller = call % 2 === 0 ? 'SendMessageFunction' : 'FanoutFunction';
      const first = faults.postFault({ 'amz-sdk-invocation-id': id, 'amz-sdk-request': 'attempt=1; max=3' }, caller);
      if (first === undefined) continue;
      faulted += 1;
      byCaller[caller] = (byCaller[caller] ?? 0) + 2;
      expect(faults.postFault({ 'amz-sdk-invocation-id': id, 'amz-sdk-request': 'attempt=2; max=3' }, caller)).to.equal('throttle');
      expect(faults.postFault({ 'amz-sdk-invocation-id': id, 'amz-sdk-request': 'attempt=3; max=3' }, caller)).to.equal(undefined);
    }
    const stats = faults.stats().post;
    expect(faulted).to.be.within(70, 130);
    expect(stats).to.deep.include({ calls: 200, faultedCalls: faulted, recovered: faulted });
    expect(stats.injected.throttle).to.equal(2 * faulted);
    expect(stats.injectedBy, 'faulted attempts by caller').to.deep.equal(byCaller);
    expect(Object.keys(byCaller)).to.have.length(2);
  });
});

describe('stage throttling', () => {
  it('reads DefaultRouteSettings from the stage, with its intrinsics resolved (Fn::FindInMap)', async () => {
    const model = await loadTemplate(TEMPLATE);
    expect(model.throttling).to.deep.equal({ defaults: { burst: 500, rate: 1000 }, routes: {} });
  });

  it('gives each route a bucket of the burst, refilled at the rate, and never throttles $disconnect', async () => {
    const throttle = new StageThrottle({ defaults: { burst: 2, rate: 1000 }, routes: { members: { burst: 1, rate: 0 } } });
    expect([throttle.admit('a'), throttle.admit('a'), throttle.admit('a')]).to.deep.equal([true, true, false]);
    expect(throttle.admit('b')).to.equal(true);
    expect([throttle.admit('members'), throttle.admit('members')]).to.deep.equal([true, false]);
    expect([1, 2, 3, 4].map(() => throttle.admit('$disconnect'))).to.deep.equal([true, true, true, true]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(throttle.admit('a')).to.equal(true);
    expect(throttle.stats().a).to.deep.equal({ accepted: 3, throttled: 1 });
  });
});
