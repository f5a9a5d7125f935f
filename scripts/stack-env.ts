/**
 * The environment each function of template.yaml has on a deployed stack, as `events/env.json`
 * gives it to `sam local invoke --env-vars` (SAM CLI's format: one object per function logical
 * id, whose variables replace those the template declares).
 *
 * `sam local invoke` resolves a function's variables from the template alone: a parameter gets
 * its default, a `!Ref` of a resource its logical id (`FANOUT_QUEUE_URL=FanoutQueue`), anything
 * else it cannot resolve an empty string. So every variable that depends on the stack is written
 * here, from the stack's own values:
 *
 * - a resource's value (a table name, the queue URL, the Management API endpoint): from the
 *   stack output whose `Value` is the very expression the variable has (an output under a
 *   condition gives the variable that is `!If [condition, value, !Ref AWS::NoValue]`). A variable
 *   that comes from a resource and has no such output is an error: the stack could not tell it;
 * - a parameter, or a condition on parameters: from the stack's parameter values;
 * - constants (literals, `!FindInMap`): left to SAM, which resolves them as CloudFormation does.
 */
import { isDeepStrictEqual } from 'node:util';

type Template = Record<string, unknown>;
type Json = Record<string, unknown>;

/** What `aws cloudformation describe-stacks` says of a stack, as this module needs it. */
export interface StackValues {
  parameters: Record<string, string>;
  outputs: Record<string, string>;
}

/** One function's variables, as SAM CLI's env-vars file holds them. */
export type EnvFile = Record<string, Record<string, string>>;

const isRecord = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const NO_VALUE = { Ref: 'AWS::NoValue' };
const FUNCTION_TYPES = new Set(['AWS::Serverless::Function', 'AWS::Lambda::Function']);

function section(template: Template, name: string): Json {
  const value = template[name];
  return isRecord(value) ? value : {};
}

/** Each function's variables as the template writes them (Globals first, as SAM merges them). */
export function functionVariables(template: Template): Map<string, Json> {
  const globals = section(section(template, 'Globals'), 'Function');
  const globalVariables = isRecord(globals.Environment) && isRecord(globals.Environment.Variables) ? globals.Environment.Variables : {};
  const functions = new Map<string, Json>();
  for (const [id, resource] of Object.entries(section(template, 'Resources'))) {
    if (!isRecord(resource) || !FUNCTION_TYPES.has(String(resource.Type))) continue;
    const properties = isRecord(resource.Properties) ? resource.Properties : {};
    const own = isRecord(properties.Environment) && isRecord(properties.Environment.Variables) ? properties.Environment.Variables : {};
    const isSam = resource.Type === 'AWS::Serverless::Function';
    functions.set(id, { ...(isSam ? globalVariables : {}), ...own });
  }
  return functions;
}

/** The resources an expression refers to (Ref, GetAtt, `${X}` and `${X.Attr}` of Fn::Sub). */
function referencedResources(value: unknown, resources: Json): string[] {
  if (Array.isArray(value)) return value.flatMap((item) => referencedResources(item, resources));
  if (!isRecord(value)) return [];
  const found: string[] = [];
  for (const [key, argument] of Object.entries(value)) {
    if (key === 'Ref' && typeof argument === 'string' && argument in resources) found.push(argument);
    else if (key === 'Fn::GetAtt') {
      const id = Array.isArray(argument) ? argument[0] : String(argument).split('.')[0];
      if (typeof id === 'string' && id in resources) found.push(id);
    } else if (key === 'Fn::Sub') {
      const [text, variables] = Array.isArray(argument) ? argument : [argument, {}];
      for (const match of String(text).matchAll(/\$\{([^}!.]+)(?:\.[^}]+)?\}/g)) {
        const id = (match[1] as string).trim();
        if (id in resources && !(isRecord(variables) && id in variables)) found.push(id);
      }
      found.push(...referencedResources(variables, resources));
    } else found.push(...referencedResources(argument, resources));
  }
  return found;
}

/**
 * The output that gives a variable's value: one whose Value is the variable's expression, or,
 * for `!If [C, X, !Ref AWS::NoValue]`, one under condition C whose Value is X.
 */
function outputFor(expression: unknown, outputs: Json): { name: string; unsetWhenAbsent: boolean } | undefined {
  const entries = Object.entries(outputs).filter((entry): entry is [string, Json] => isRecord(entry[1]));
  const same = entries.find(([, output]) => isDeepStrictEqual(output.Value, expression));
  if (same) return { name: same[0], unsetWhenAbsent: same[1].Condition !== undefined };
  const choice = isRecord(expression) ? expression['Fn::If'] : undefined;
  if (Array.isArray(choice) && isDeepStrictEqual(choice[2], NO_VALUE)) {
    const guarded = entries.find(([, output]) => output.Condition === choice[0] && isDeepStrictEqual(output.Value, choice[1]));
    if (guarded) return { name: guarded[0], unsetWhenAbsent: true };
  }
  return undefined;
}

/** Evaluates what depends on parameters only: Ref of a parameter, Fn::If, Equals, Not, And, Or, Condition. */
function evaluate(expression: unknown, template: Template, parameters: Record<string, string>): unknown {
  const declared = section(template, 'Parameters');
  const conditions = section(template, 'Conditions');
  const value = (item: unknown): unknown => evaluate(item, template, parameters);
  const holds = (name: unknown): boolean => Boolean(value(conditions[String(name)]));
  if (!isRecord(expression)) return expression;
  const [key, argument] = Object.entries(expression)[0] ?? [];
  const list = Array.isArray(argument) ? argument : [];
  switch (key) {
    case 'Ref': {
      const name = String(argument);
      if (!(name in declared)) throw new Error(`Ref ${name} is not a parameter`);
      const parameter = declared[name];
      return parameters[name] ?? (isRecord(parameter) && parameter.Default !== undefined ? String(parameter.Default) : '');
    }
    case 'Condition':
      return holds(argument);
    case 'Fn::If':
      return value(holds(list[0]) ? list[1] : list[2]);
    case 'Fn::Equals':
      return String(value(list[0])) === String(value(list[1]));
    case 'Fn::Not':
      return !value(list[0]);
    case 'Fn::And':
      return list.every((item) => Boolean(value(item)));
    case 'Fn::Or':
      return list.some((item) => Boolean(value(item)));
    default:
      throw new Error(`${key} cannot be resolved from parameters alone`);
  }
}

/** A constant of the template (a literal, or a Mappings value): SAM resolves it as CloudFormation does. */
const isConstant = (expression: unknown): boolean =>
  !isRecord(expression) || (Object.keys(expression).length === 1 && 'Fn::FindInMap' in expression);

/**
 * Where each variable of each function comes from, for the ones that depend on the stack:
 * `output:<Name>` or `parameters`. Throws, naming every one, when a variable comes from a
 * resource and no output gives it.
 */
export function variableSources(template: Template): Map<string, Record<string, string>> {
  const resources = section(template, 'Resources');
  const outputs = section(template, 'Outputs');
  const sources = new Map<string, Record<string, string>>();
  const missing: string[] = [];
  for (const [fn, variables] of functionVariables(template)) {
    const own: Record<string, string> = {};
    for (const [name, expression] of Object.entries(variables)) {
      if (isConstant(expression)) continue;
      if (referencedResources(expression, resources).length === 0) {
        own[name] = 'parameters';
        continue;
      }
      const output = outputFor(expression, outputs);
      if (output) own[name] = `output:${output.name}`;
      else missing.push(`${fn} ${name}`);
    }
    sources.set(fn, own);
  }
  if (missing.length > 0) {
    throw new Error(
      `no stack output gives these function variables, which come from resources: ${missing.join(', ')} (add an output with the same Value)`,
    );
  }
  return sources;
}

/** The env-vars file for a stack: every variable that depends on the stack, per function. */
export function envFromStack(template: Template, stack: StackValues): EnvFile {
  const outputs = section(template, 'Outputs');
  const env: EnvFile = {};
  for (const [fn, sources] of variableSources(template)) {
    const variables = functionVariables(template).get(fn) ?? {};
    const own: Record<string, string> = {};
    for (const [name, source] of Object.entries(sources)) {
      if (source === 'parameters') {
        const value = evaluate(variables[name], template, stack.parameters);
        // A branch that is AWS::NoValue: the variable is not set on the stack; SAM's "" says as much.
        own[name] = isDeepStrictEqual(value, NO_VALUE) ? '' : String(value);
        continue;
      }
      const outputName = source.slice('output:'.length);
      const value = stack.outputs[outputName];
      const conditional = isRecord(outputs[outputName]) && (outputs[outputName] as Json).Condition !== undefined;
      // An output under a condition the stack does not meet is absent: its resource is not there.
      if (value === undefined && !conditional)
        throw new Error(`the stack has no output ${outputName} (${fn} ${name}): is it deployed from this template?`);
      own[name] = value ?? '';
    }
    env[fn] = own;
  }
  return env;
}

/** A stand-in for the outputs of a stack not deployed yet: each names the output to take its value from. */
export function placeholderStack(template: Template): StackValues {
  const outputs = Object.fromEntries(Object.keys(section(template, 'Outputs')).map((name) => [name, `REPLACE-with-the-${name}-output`]));
  return { parameters: {}, outputs };
}
