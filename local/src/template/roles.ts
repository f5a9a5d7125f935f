/**
 * The execution role of each function, read from the template as SAM builds it: the
 * statements of its `Policies` (inline documents, SAM policy templates expanded by
 * policy-templates.ts, the SQS poller's actions a SAM SQS event adds) or of the
 * `AWS::IAM::Role` it names, with intrinsics resolved to the local ARNs. What cannot be read
 * (a managed policy other than the logging and tracing ones, a policy template of another
 * service, an external role) makes the role unenforceable, with a note. local/src/iam/iam.ts
 * evaluates the calls against these.
 */
import { expandPolicyTemplate } from './policy-templates.js';
import type { FunctionRole, Statement, TemplateModel, TemplateResource } from './model.js';

export type { FunctionRole, Statement } from './model.js';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): string[] => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).map(String));

/** Managed policies that grant nothing the local runtime plays (logs, traces, network interfaces). */
const HARMLESS_MANAGED =
  /(AWSLambdaBasicExecutionRole|AWSXrayWriteOnlyAccess|AWSXRayDaemonWriteAccess|AWSLambdaVPCAccessExecutionRole|CloudWatchLambdaInsightsExecutionRolePolicy)$/;

function statementsOf(document: unknown, source: string, resolve: (v: unknown) => unknown): Statement[] {
  const doc = resolve(document);
  if (!isRecord(doc)) return [];
  const raw = Array.isArray(doc.Statement) ? doc.Statement : doc.Statement === undefined ? [] : [doc.Statement];
  return raw.filter(isRecord).map((s, i) => ({
    Effect: s.Effect === 'Deny' ? 'Deny' : 'Allow',
    ...(s.Action !== undefined ? { Action: list(s.Action) } : {}),
    ...(s.NotAction !== undefined ? { NotAction: list(s.NotAction) } : {}),
    ...(s.Resource !== undefined ? { Resource: list(s.Resource) } : {}),
    ...(s.NotResource !== undefined ? { NotResource: list(s.NotResource) } : {}),
    ...(s.Condition !== undefined ? { Condition: s.Condition } : {}),
    source: `${source}.Statement[${i}]`,
  }));
}

/** The statements of each function's execution role, as SAM builds it from the template. */
export function readRoles(model: Omit<TemplateModel, 'roles'>): Map<string, FunctionRole> {
  const roles = new Map<string, FunctionRole>();
  const { accountId, partition } = model.pseudo;
  const resolve = (v: unknown): unknown => model.resolve(v);
  for (const functionId of model.functions.keys()) {
    const resource = model.resources[functionId] as TemplateResource | undefined;
    const props = resource?.Properties ?? {};
    const role: FunctionRole = {
      functionId,
      roleArn: `arn:${partition}:iam::${accountId}:role/${functionId}Role`,
      statements: [],
      enforceable: true,
      notes: [],
    };
    roles.set(functionId, role);
    if (resource?.Type !== 'AWS::Serverless::Function' || props.Role !== undefined) {
      const roleId =
        isRecord(props.Role) && typeof props.Role['Fn::GetAtt'] !== 'undefined'
          ? String(list(props.Role['Fn::GetAtt'])[0] ?? '').split('.')[0]
          : isRecord(props.Role) && typeof props.Role.Ref === 'string'
            ? props.Role.Ref
            : undefined;
      const roleResource = roleId ? model.resources[roleId] : undefined;
      if (roleResource?.Type !== 'AWS::IAM::Role') {
        role.enforceable = false;
        role.notes.push('its role is not an AWS::IAM::Role of this template');
        continue;
      }
      role.roleArn = `arn:${partition}:iam::${accountId}:role/${roleId}`;
      const policies = (roleResource.Properties?.Policies ?? []) as unknown[];
      policies.forEach((p, i) => {
        if (isRecord(p)) role.statements.push(...statementsOf(p.PolicyDocument, `${roleId}.Policies[${i}]`, resolve));
      });
      for (const arn of list(resolve(roleResource.Properties?.ManagedPolicyArns ?? []))) {
        if (!HARMLESS_MANAGED.test(arn)) {
          role.enforceable = false;
          role.notes.push(`managed policy ${arn} cannot be evaluated locally`);
        }
      }
      continue;
    }
    const policies = props.Policies === undefined ? [] : Array.isArray(props.Policies) ? props.Policies : [props.Policies];
    policies.forEach((policy: unknown, i: number) => {
      if (typeof policy === 'string' || (isRecord(policy) && (policy.Ref !== undefined || policy['Fn::Sub'] !== undefined))) {
        const name = String(resolve(policy));
        if (!HARMLESS_MANAGED.test(name)) {
          role.enforceable = false;
          role.notes.push(`managed policy ${name} cannot be evaluated locally`);
        }
      } else if (isRecord(policy) && policy.Statement !== undefined) {
        role.statements.push(...statementsOf(policy, `Policies[${i}]`, resolve));
      } else if (isRecord(policy)) {
        for (const [name, parameters] of Object.entries(policy)) {
          const expanded = expandPolicyTemplate(name, resolve(parameters), model.pseudo);
          if (typeof expanded === 'string') {
            role.enforceable = false;
            role.notes.push(expanded);
          } else {
            role.statements.push(
              ...expanded.map((s, j) => ({ Effect: 'Allow' as const, ...s, source: `Policies[${i}].${name}.Statement[${j}]` })),
            );
          }
        }
      }
    });
    // A SAM SQS event adds AWSLambdaSQSQueueExecutionRole (the poller's actions, on every queue).
    const events = isRecord(props.Events) ? Object.values(props.Events) : [];
    if (events.some((e) => isRecord(e) && e.Type === 'SQS')) {
      role.statements.push({
        Effect: 'Allow',
        Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
        Resource: ['*'],
        source: 'SQS event (AWSLambdaSQSQueueExecutionRole, added by SAM)',
      });
    }
  }
  return roles;
}
