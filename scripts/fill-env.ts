/**
 * `npm run fill-env`: writes events/env.json for `sam local invoke --env-vars events/env.json`
 * from a deployed stack (scripts/stack-env.ts says what goes in it and why).
 *
 *   npm run fill-env                                  the stack of samconfig.toml's default environment
 *   npm run fill-env -- --config-env prod             ... of another environment
 *   npm run fill-env -- --stack-name S --region R     any stack
 *   npm run fill-env -- --from stack.json             offline, from `aws cloudformation describe-stacks` output
 *   npm run fill-env -- --placeholders                the file as shipped: each value names its output
 *
 * Credentials and region come from the AWS SDK's usual chain (AWS_PROFILE, AWS_REGION, ...) unless
 * given; the call is cloudformation:DescribeStacks.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { expandLanguageExtensions, readTemplateFile } from 'sam-websocket-local';
import { describeStack, readSavedStack, samconfigTarget, stackValues } from './stack';
import { envFromStack, placeholderStack, type StackValues } from './stack-env';

const HELP = `Usage: npm run fill-env -- [--stack-name NAME] [--region REGION] [--config-env ENV]
                         [--from describe-stacks.json] [--placeholders]
                         [--template template.yaml] [--output events/env.json]

Writes the environment each function has on the stack (its outputs and parameters) into
events/env.json, for: sam local invoke <Function> -e events/<event>.json --env-vars events/env.json
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'stack-name': { type: 'string' },
      region: { type: 'string' },
      'config-env': { type: 'string', default: 'default' },
      from: { type: 'string' },
      placeholders: { type: 'boolean' },
      template: { type: 'string', default: 'template.yaml' },
      output: { type: 'string', default: path.join('events', 'env.json') },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const template = expandLanguageExtensions(await readTemplateFile(values.template));
  let stack: StackValues;
  let origin: string;
  if (values.placeholders) {
    stack = placeholderStack(template);
    origin = 'placeholders naming each output';
  } else if (values.from) {
    stack = stackValues(readSavedStack(values.from));
    origin = values.from;
  } else {
    const configured = samconfigTarget(path.join(path.dirname(values.template), 'samconfig.toml'), values['config-env']);
    const stackName = values['stack-name'] ?? configured.stackName;
    if (!stackName) throw new Error(`no --stack-name, and samconfig.toml's ${values['config-env']} environment names none`);
    const region = values.region ?? configured.region;
    stack = stackValues(await describeStack(stackName, region));
    origin = `stack ${stackName}`;
  }
  const env = envFromStack(template, stack);
  writeFileSync(values.output, `${JSON.stringify(env, null, 2)}\n`);
  const count = Object.values(env).reduce((sum, variables) => sum + Object.keys(variables).length, 0);
  process.stdout.write(`${values.output}: ${count} variables of ${Object.keys(env).length} functions, from ${origin}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`npm run fill-env: ${(error as Error).message}\n`);
  process.exit(1);
});
