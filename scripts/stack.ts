/**
 * A deployed stack's parameter and output values: from CloudFormation (DescribeStacks, through the
 * SDK's usual credentials and region), or from the saved JSON of `aws cloudformation
 * describe-stacks`; and which stack samconfig.toml deploys to.
 */
import { readFileSync } from 'node:fs';
import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { parse as parseToml } from 'smol-toml';
import type { StackValues } from './stack-env';

export interface SamConfigTarget {
  stackName?: string;
  region?: string;
}

/** stack_name and region of a samconfig.toml environment (its deploy, else its global section). */
export function samconfigTarget(file: string, environment: string): SamConfigTarget {
  let config: Record<string, unknown>;
  try {
    config = parseToml(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`${file}: ${(error as Error).message}`, { cause: error });
  }
  const env = (config[environment] ?? {}) as Record<string, { parameters?: Record<string, unknown> }>;
  const value = (key: string): string | undefined => {
    for (const command of ['deploy', 'global']) {
      const found = env[command]?.parameters?.[key];
      if (typeof found === 'string') return found;
    }
    return undefined;
  };
  return { stackName: value('stack_name'), region: value('region') };
}

/** A stack of describe-stacks (SDK or CLI JSON) as parameter and output values. */
export function stackValues(stack: Pick<Stack, 'Parameters' | 'Outputs'>): StackValues {
  const pairs = <T>(items: T[] | undefined, key: (item: T) => string | undefined, value: (item: T) => string | undefined) =>
    Object.fromEntries((items ?? []).flatMap((item) => (key(item) === undefined ? [] : [[key(item), value(item) ?? '']])));
  return {
    parameters: pairs(
      stack.Parameters,
      (p) => p.ParameterKey,
      (p) => p.ResolvedValue ?? p.ParameterValue,
    ),
    outputs: pairs(
      stack.Outputs,
      (o) => o.OutputKey,
      (o) => o.OutputValue,
    ),
  };
}

export async function describeStack(stackName: string, region: string | undefined): Promise<Stack> {
  const client = new CloudFormationClient(region ? { region } : {});
  try {
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = Stacks?.[0];
    if (!stack) throw new Error(`no stack ${stackName}`);
    return stack;
  } catch (error: unknown) {
    const where = `${stackName} in ${region ?? (await client.config.region())}`;
    throw new Error(`describe-stacks ${where}: ${(error as Error).message}`, { cause: error });
  } finally {
    client.destroy();
  }
}

export function readSavedStack(file: string): Stack {
  const json = JSON.parse(readFileSync(file, 'utf8')) as { Stacks?: Stack[] } & Stack;
  const stack = json.Stacks?.[0] ?? json;
  if (!stack.Outputs) throw new Error(`${file}: no Outputs (expected the JSON of aws cloudformation describe-stacks)`);
  return stack;
}
