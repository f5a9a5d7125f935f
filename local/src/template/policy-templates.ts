/**
 * SAM policy templates, for local IAM (iam.ts): the statements SAM expands a function's
 * `Policies: - DynamoDBCrudPolicy: { TableName: … }` into, for the templates that reach the
 * services the local runtime plays (DynamoDB, SQS, Lambda). Written from the AWS SAM policy
 * template list (docs.aws.amazon.com/serverless-application-model, "AWS SAM policy templates"):
 * the same actions, on the same resources, built from the template's parameter values and the
 * local partition, region and account. A template not listed here cannot be evaluated locally:
 * the function's calls are then recorded and not denied (iam.ts says so).
 */

export interface TemplateStatement {
  Action: string[];
  Resource: string[];
}

export interface Pseudo {
  partition: string;
  region: string;
  accountId: string;
}

type Parameters = Record<string, string>;

const DYNAMODB_READ = ['dynamodb:GetItem', 'dynamodb:Scan', 'dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:DescribeTable'];
const DYNAMODB_WRITE = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:BatchWriteItem'];
const SQS_POLL = [
  'sqs:ChangeMessageVisibility',
  'sqs:ChangeMessageVisibilityBatch',
  'sqs:DeleteMessage',
  'sqs:DeleteMessageBatch',
  'sqs:GetQueueAttributes',
  'sqs:ReceiveMessage',
];

/** Each template: the parameters it needs, and its statements from their values. */
const TEMPLATES: Record<string, { parameters: string[]; statements: (p: Parameters, at: Pseudo) => TemplateStatement[] }> = {
  DynamoDBCrudPolicy: {
    parameters: ['TableName'],
    statements: (p, at) => [
      {
        Action: [...DYNAMODB_READ, 'dynamodb:DeleteItem', ...DYNAMODB_WRITE, 'dynamodb:ConditionCheckItem'],
        Resource: [table(p, at), `${table(p, at)}/index/*`],
      },
    ],
  },
  DynamoDBReadPolicy: {
    parameters: ['TableName'],
    statements: (p, at) => [{ Action: DYNAMODB_READ, Resource: [table(p, at), `${table(p, at)}/index/*`] }],
  },
  DynamoDBWritePolicy: {
    parameters: ['TableName'],
    statements: (p, at) => [{ Action: DYNAMODB_WRITE, Resource: [table(p, at), `${table(p, at)}/index/*`] }],
  },
  SQSSendMessagePolicy: {
    parameters: ['QueueName'],
    statements: (p, at) => [{ Action: ['sqs:SendMessage*'], Resource: [queue(p, at)] }],
  },
  SQSPollerPolicy: {
    parameters: ['QueueName'],
    statements: (p, at) => [{ Action: SQS_POLL, Resource: [queue(p, at)] }],
  },
  LambdaInvokePolicy: {
    parameters: ['FunctionName'],
    statements: (p, at) => [
      {
        Action: ['lambda:InvokeFunction'],
        Resource: [`arn:${at.partition}:lambda:${at.region}:${at.accountId}:function:${p.FunctionName as string}*`],
      },
    ],
  },
};

function table(p: Parameters, at: Pseudo): string {
  return `arn:${at.partition}:dynamodb:${at.region}:${at.accountId}:table/${p.TableName as string}`;
}

function queue(p: Parameters, at: Pseudo): string {
  return `arn:${at.partition}:sqs:${at.region}:${at.accountId}:${p.QueueName as string}`;
}

/**
 * The statements of policy template `name` with `parameters` (already resolved), or an
 * explanation of why it cannot be evaluated.
 */
export function expandPolicyTemplate(name: string, parameters: unknown, at: Pseudo): TemplateStatement[] | string {
  const template = TEMPLATES[name];
  if (!template) return `policy template ${name} cannot be evaluated locally (it grants services the local runtime does not play)`;
  const values = (parameters !== null && typeof parameters === 'object' ? parameters : {}) as Record<string, unknown>;
  const missing = template.parameters.filter((key) => typeof values[key] !== 'string' || values[key] === '');
  if (missing.length > 0) return `policy template ${name} lacks ${missing.join(', ')}`;
  return template.statements(values as Parameters, at);
}
