/**
 * Mocha configuration of `npm run test:template`: the root .mocharc.json (tsx, test/setup.ts,
 * reporter) without its `spec`, because mocha adds a config file's spec to the one given
 * with --spec instead of replacing it, and the template tests must run on their own. They
 * run sam build, sam validate and cfn-lint, hence the longer timeout.
 */
import root from '../../.mocharc.json' with { type: 'json' };

const config = { ...root, timeout: 600000 };
delete config.spec;

export default config;
