/**
 * What deleting the stack, or an update that replaces a resource, leaves behind: the stored
 * messages, and nothing else. Checked on the transformed template, where SAM has set its
 * own policies (the layer's RetentionPolicy becomes a DeletionPolicy).
 */
import { expect } from 'chai';
import { TOOL_TIMEOUT_MS, loadTemplate, transform, type Resource, type Template } from './helpers';

/** The one resource whose data outlives the stack (README, "Updating the stack"). */
const KEPT = 'MessagesTable';

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

  it('deletes every other resource with the stack, log groups and layer versions included', () => {
    const kept = Object.entries(cfn.Resources as Record<string, Policies>)
      .filter(([id]) => id !== KEPT)
      .flatMap(([id, resource]) =>
        [resource.DeletionPolicy, resource.UpdateReplacePolicy]
          .filter((policy) => policy !== undefined && policy !== 'Delete')
          .map((policy) => `${id}: ${policy}`),
      );
    expect(kept).to.deep.equal([]);
  });
});
