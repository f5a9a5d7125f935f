/**
 * What deleting the stack, or an update that replaces a resource, leaves behind: the stored
 * messages and the accounts (AuthMode cognito), and nothing else. Checked on the transformed
 * template, where SAM has set its own policies (the layer's RetentionPolicy becomes a
 * DeletionPolicy).
 */
import { expect } from 'chai';
import { TOOL_TIMEOUT_MS, loadTemplate, transform, type Resource, type Template } from './helpers';

/** The resources whose data outlives the stack (README, "Updating the stack"). */
const KEPT = 'MessagesTable';
const ACCOUNTS = 'UserPool';

type Policies = Resource & { DeletionPolicy?: string; UpdateReplacePolicy?: string };

describe('stack delete and replacement (transformed template)', function () {
  this.timeout(TOOL_TIMEOUT_MS);
  let cfn: Template;

  before(async () => {
    cfn = await transform(loadTemplate());
  });

  it(`keeps ${KEPT} on delete and on replacement (a failed first create takes it along), with point-in-time recovery`, () => {
    const table = cfn.Resources[KEPT] as Policies;
    expect(table.Type).to.equal('AWS::DynamoDB::Table');
    expect(table.DeletionPolicy).to.equal('RetainExceptOnCreate');
    expect(table.UpdateReplacePolicy).to.equal('Retain');
    expect(table.Properties?.PointInTimeRecoverySpecification).to.deep.equal({ PointInTimeRecoveryEnabled: true });
    // README's delete-table command takes the name from this output.
    expect(cfn.Outputs?.MessagesTableName?.Value).to.deep.equal({ Ref: KEPT });
  });

  it(`keeps ${ACCOUNTS} on delete and on replacement, with deletion protection, and a domain prefix a replacement cannot collide with`, () => {
    const pool = cfn.Resources[ACCOUNTS] as Policies;
    expect(pool.Type).to.equal('AWS::Cognito::UserPool');
    expect(pool.DeletionPolicy).to.equal('RetainExceptOnCreate');
    expect(pool.UpdateReplacePolicy).to.equal('Retain');
    expect(pool.Properties?.DeletionProtection).to.equal('ACTIVE');
    // The prefix follows the app client, which a replaced pool replaces: old and new domains differ.
    const [domainId, domain] = Object.entries(cfn.Resources).find(([, r]) => r.Type === 'AWS::Cognito::UserPoolDomain') as [
      string,
      Resource,
    ];
    expect(domain.Properties?.Domain, domainId).to.deep.equal({ 'Fn::Sub': 'chat-${UserPoolClient}' });
    expect((cfn.Resources.UserPoolClient?.Properties as { UserPoolId?: unknown }).UserPoolId).to.deep.equal({ Ref: ACCOUNTS });
  });

  it('deletes every other resource with the stack, log groups and layer versions included', () => {
    const kept = Object.entries(cfn.Resources as Record<string, Policies>)
      .filter(([id]) => id !== KEPT && id !== ACCOUNTS)
      .flatMap(([id, resource]) =>
        [resource.DeletionPolicy, resource.UpdateReplacePolicy]
          .filter((policy) => policy !== undefined && policy !== 'Delete')
          .map((policy) => `${id}: ${policy}`),
      );
    expect(kept).to.deep.equal([]);
  });
});
