/**
 * How IAM names a DynamoDB request: the (action, resource ARN) pairs it evaluates (a batch or a
 * transaction names every table it touches, an index its own ARN).
 */
import type { AwsCall } from '../front-door/aws-calls.js';
import type { TemplateModel } from '../template/template.js';

/** The (action, resource) pairs IAM evaluates for one DynamoDB request. */
export function dynamodbCalls(model: TemplateModel, operation: string, input: Record<string, unknown>): AwsCall[] {
  const { partition, region, accountId } = model.pseudo;
  const table = (name: unknown): string =>
    String(name).startsWith('arn:') ? String(name) : `arn:${partition}:dynamodb:${region}:${accountId}:table/${String(name)}`;
  const action = (op: string): string => `dynamodb:${op}`;
  switch (operation) {
    case 'BatchWriteItem':
    case 'BatchGetItem': {
      const names = Object.keys((input.RequestItems ?? {}) as Record<string, unknown>);
      return names.map((name) => ({ action: action(operation), resource: table(name) }));
    }
    case 'TransactWriteItems':
    case 'TransactGetItems': {
      const items = (input.TransactItems ?? []) as Record<string, { TableName?: string }>[];
      const ops: Record<string, string> = {
        Put: 'PutItem',
        Update: 'UpdateItem',
        Delete: 'DeleteItem',
        ConditionCheck: 'ConditionCheckItem',
        Get: 'GetItem',
      };
      return items.flatMap((item) =>
        Object.entries(item).map(([kind, body]) => ({ action: action(ops[kind] ?? kind), resource: table(body?.TableName) })),
      );
    }
    case 'Query':
    case 'Scan':
      return [
        {
          action: action(operation),
          resource: input.IndexName === undefined ? table(input.TableName) : `${table(input.TableName)}/index/${String(input.IndexName)}`,
        },
      ];
    case 'ListTables':
      return [{ action: action(operation), resource: '*' }];
    case 'TagResource':
    case 'UntagResource':
    case 'ListTagsOfResource':
      return [{ action: action(operation), resource: String(input.ResourceArn ?? '*') }];
    default:
      return [{ action: action(operation), resource: input.TableName === undefined ? '*' : table(input.TableName) }];
  }
}
