/**
 * The template passes the linters a user (and `sam deploy`) runs: `sam validate --lint`
 * and `cfn-lint`, both clean, with nothing waived.
 */
import { expect } from 'chai';
import { GENERATED_PATH, TOOL_TIMEOUT_MS, output, run } from './helpers';

describe('template.yaml lint', function () {
  this.timeout(TOOL_TIMEOUT_MS);

  it('passes `sam validate --lint`', async () => {
    const result = await run('sam', ['validate', '--lint', '--template-file', 'template.yaml']);
    expect(result.code, output(result)).to.equal(0);
    expect(result.stdout + result.stderr, output(result)).to.match(/template\.yaml is a valid SAM Template/);
  });

  it('passes `cfn-lint template.yaml` with no finding at all (warnings included)', async () => {
    const result = await run('cfn-lint', ['template.yaml']);
    expect(result.code, output(result)).to.equal(0);
    expect(result.stdout.trim(), output(result)).to.equal('');
  });

  it('the generated CloudFormation template passes cfn-lint too', async () => {
    const generated = await run('python3', ['scripts/generate-template.py', '--output', GENERATED_PATH]);
    expect(generated.code, output(generated)).to.equal(0);
    const result = await run('cfn-lint', [GENERATED_PATH]);
    expect(result.code, output(result)).to.equal(0);
    expect(result.stdout.trim(), output(result)).to.equal('');
  });
});
