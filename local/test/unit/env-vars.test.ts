/**
 * `--env-vars` files as sam local invoke reads them (local/src/lambda/env-vars.ts): the
 * Parameters entry for every function, a function's own entry over it, and only the variables
 * the function's template declares.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { envVarsFor, readEnvVarsFile } from '../../src/lambda/env-vars';

const fn = { logicalId: 'SendFunction', environment: { TABLE: 'Table', LIMIT: '20', URL: 'https://x' } };

describe('local runtime: --env-vars (as sam local invoke takes them)', () => {
  it("replaces a declared variable from Parameters, the function's own entry winning; ignores the rest", () => {
    const overrides = envVarsFor(
      { Parameters: { TABLE: 'everyone', UNDECLARED: 'x' }, SendFunction: { TABLE: 'mine', LIMIT: 3 }, OtherFunction: { URL: 'no' } },
      fn,
    );
    expect(overrides).to.deep.equal({ TABLE: 'mine', LIMIT: '3' });
  });

  it('gives nothing without a file', () => {
    expect(envVarsFor(undefined, fn)).to.deep.equal({});
  });

  it('refuses a file that is not an object of objects, naming the entry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'env-vars-'));
    try {
      const file = join(dir, 'env.json');
      writeFileSync(file, JSON.stringify({ Parameters: { A: '1' }, SendFunction: 'oops' }));
      const error = await readEnvVarsFile(file).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error?.message).to.equal(`--env-vars ${file}: SendFunction must be an object of variables (as sam local invoke requires)`);
      writeFileSync(file, '{"Parameters": {"A": "1"}}');
      expect(await readEnvVarsFile(file)).to.deep.equal({ Parameters: { A: '1' } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
