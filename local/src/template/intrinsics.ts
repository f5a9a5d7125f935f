/**
 * Resolves CloudFormation intrinsic functions (Ref, Fn::Sub, Fn::GetAtt, Fn::Join, Fn::If, ...)
 * to the values they take in the local runtime.
 */

export interface PseudoParameters {
  region: string;
  accountId: string;
  partition: string;
  urlSuffix: string;
  stackName: string;
}

export interface ResolveContext {
  pseudo: PseudoParameters;
  /** Parameter values (the template's defaults, unless overridden). */
  parameters: Record<string, string | string[]>;
  mappings: Record<string, Record<string, Record<string, unknown>>>;
  conditions: Record<string, unknown>;
  /** What `Ref` returns for a resource, or undefined when there is no such resource. */
  refResource(logicalId: string): string | undefined;
  /** What `Fn::GetAtt` returns for a resource's attribute. */
  getAtt(logicalId: string, attribute: string): string;
}

/** `Ref: AWS::NoValue`: the property is removed. */
export const NO_VALUE: unique symbol = Symbol('AWS::NoValue');

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function pseudoRef(name: string, ctx: ResolveContext): string | typeof NO_VALUE | undefined {
  const { pseudo } = ctx;
  switch (name) {
    case 'AWS::Region':
      return pseudo.region;
    case 'AWS::AccountId':
      return pseudo.accountId;
    case 'AWS::Partition':
      return pseudo.partition;
    case 'AWS::URLSuffix':
      return pseudo.urlSuffix;
    case 'AWS::StackName':
      return pseudo.stackName;
    case 'AWS::StackId':
      return `arn:${pseudo.partition}:cloudformation:${pseudo.region}:${pseudo.accountId}:stack/${pseudo.stackName}/local`;
    case 'AWS::NotificationARNs':
      return '';
    case 'AWS::NoValue':
      return NO_VALUE;
    default:
      return undefined;
  }
}

function ref(name: unknown, ctx: ResolveContext): unknown {
  if (typeof name !== 'string') throw new Error(`Ref needs a name, got ${JSON.stringify(name)}`);
  const pseudo = pseudoRef(name, ctx);
  if (pseudo !== undefined) return pseudo;
  if (name in ctx.parameters) return ctx.parameters[name];
  const resource = ctx.refResource(name);
  if (resource !== undefined) return resource;
  throw new Error(`Ref to unknown parameter or resource "${name}"`);
}

function asString(value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.join(',');
  throw new Error(`${where}: expected a string, got ${JSON.stringify(value)}`);
}

function sub(args: unknown, ctx: ResolveContext): string {
  const [text, rawVars] = Array.isArray(args) ? args : [args, {}];
  if (typeof text !== 'string') throw new Error('Fn::Sub needs a string');
  const vars = isRecord(rawVars) ? rawVars : {};
  return text.replace(/\$\{([^}]*)\}/g, (_match, expr: string) => {
    if (expr.startsWith('!')) return `\${${expr.slice(1)}}`;
    const name = expr.trim();
    if (name in vars) return asString(resolveValue(vars[name], ctx), `Fn::Sub \${${name}}`);
    const dot = name.indexOf('.');
    if (dot > 0 && !name.startsWith('AWS::')) return ctx.getAtt(name.slice(0, dot), name.slice(dot + 1));
    return asString(ref(name, ctx), `Fn::Sub \${${name}}`);
  });
}

function condition(name: unknown, ctx: ResolveContext): boolean {
  if (typeof name !== 'string' || !(name in ctx.conditions)) {
    throw new Error(`unknown condition ${JSON.stringify(name)}`);
  }
  return Boolean(resolveValue(ctx.conditions[name], ctx));
}

function list(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${where}: expected a list`);
  return value;
}

type Fn = (args: unknown, ctx: ResolveContext) => unknown;

const FUNCTIONS: Record<string, Fn> = {
  'Fn::Sub': sub,
  'Fn::GetAtt': (args, ctx) => {
    const [id, attr] = typeof args === 'string' ? args.split(/\.(.*)/s) : list(resolveValue(args, ctx), 'Fn::GetAtt');
    return ctx.getAtt(String(id), String(attr));
  },
  'Fn::Join': (args, ctx) => {
    const [delimiter, items] = list(args, 'Fn::Join');
    return list(resolveValue(items, ctx), 'Fn::Join')
      .map((i) => asString(i, 'Fn::Join'))
      .join(String(delimiter));
  },
  'Fn::Select': (args, ctx) => {
    const [index, items] = list(args, 'Fn::Select');
    return list(resolveValue(items, ctx), 'Fn::Select')[Number(resolveValue(index, ctx))];
  },
  'Fn::Split': (args, ctx) => {
    const [delimiter, text] = list(args, 'Fn::Split');
    return asString(resolveValue(text, ctx), 'Fn::Split').split(String(delimiter));
  },
  'Fn::If': (args, ctx) => {
    const [name, whenTrue, whenFalse] = list(args, 'Fn::If');
    return resolveValue(condition(name, ctx) ? whenTrue : whenFalse, ctx);
  },
  'Fn::Equals': (args, ctx) => {
    const [a, b] = list(resolveValue(args, ctx), 'Fn::Equals');
    return JSON.stringify(a) === JSON.stringify(b) || String(a) === String(b);
  },
  'Fn::Not': (args, ctx) => !resolveValue(list(args, 'Fn::Not')[0], ctx),
  'Fn::And': (args, ctx) => list(args, 'Fn::And').every((c) => Boolean(resolveValue(c, ctx))),
  'Fn::Or': (args, ctx) => list(args, 'Fn::Or').some((c) => Boolean(resolveValue(c, ctx))),
  'Fn::FindInMap': (args, ctx) => {
    const [map, top, second] = list(resolveValue(args, ctx), 'Fn::FindInMap').map(String) as [string, string, string];
    const found = ctx.mappings[map]?.[top]?.[second];
    if (found === undefined) throw new Error(`Fn::FindInMap: no ${map}.${top}.${second}`);
    return found;
  },
  'Fn::Base64': (args, ctx) => Buffer.from(asString(resolveValue(args, ctx), 'Fn::Base64')).toString('base64'),
  'Fn::GetAZs': (_args, ctx) => ['a', 'b', 'c'].map((z) => `${ctx.pseudo.region}${z}`),
  'Fn::Length': (args, ctx) => list(resolveValue(args, ctx), 'Fn::Length').length,
  'Fn::ToJsonString': (args, ctx) => JSON.stringify(resolveValue(args, ctx)),
  'Fn::ImportValue': (args, ctx) => `imported-${asString(resolveValue(args, ctx), 'Fn::ImportValue')}`,
  Condition: (args, ctx) => condition(args, ctx),
};

/** Resolves every intrinsic function inside `value`; `AWS::NoValue` properties and items are dropped. */
export function resolveValue(value: unknown, ctx: ResolveContext): unknown {
  if (Array.isArray(value)) {
    return value.map((item) => resolveValue(item, ctx)).filter((item) => item !== NO_VALUE);
  }
  if (!isRecord(value)) return value;
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const key = keys[0] as string;
    if (key === 'Ref') return ref(value.Ref, ctx);
    const fn = FUNCTIONS[key];
    if (fn) return fn(value[key], ctx);
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const resolved = resolveValue(item, ctx);
    if (resolved !== NO_VALUE) out[key] = resolved;
  }
  return out;
}

/** Logical ids of the resources an (unresolved) value refers to, through Ref, Fn::GetAtt or Fn::Sub. */
export function referencedIds(value: unknown): string[] {
  const ids = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!isRecord(v)) return;
    for (const [key, item] of Object.entries(v)) {
      if (key === 'Ref' && typeof item === 'string') ids.add(item);
      else if (key === 'Fn::GetAtt') {
        const id = typeof item === 'string' ? item.split('.')[0] : Array.isArray(item) ? item[0] : undefined;
        if (typeof id === 'string') ids.add(id);
      } else if (key === 'Fn::Sub') {
        const text = Array.isArray(item) ? item[0] : item;
        if (typeof text === 'string') {
          for (const m of text.matchAll(/\$\{([^!}][^}.]*)(?:\.[^}]*)?\}/g)) ids.add((m[1] as string).trim());
        }
        if (Array.isArray(item)) walk(item[1]);
      } else walk(item);
    }
  };
  walk(value);
  return [...ids];
}
