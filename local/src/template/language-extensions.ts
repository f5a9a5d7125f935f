/**
 * The part of the AWS::LanguageExtensions transform a SAM template's resources depend on:
 * `Fn::ForEach` loops, expanded as CloudFormation expands them before any other transform.
 *
 *   Fn::ForEach::<LoopName>: [Identifier, Collection, { OutputKey: OutputValue, ... }]
 *
 * For each value of the collection (a list, or a Ref to a CommaDelimitedList parameter) the
 * fragment is copied with `${Identifier}` replaced by the value in every key and string, and
 * `&{Identifier}` by the value without its non-alphanumeric characters; `{ Ref: Identifier }`
 * becomes the value itself. Loops nest, and may stand in Resources, Conditions, Outputs and
 * within a resource's properties. A `Fn::Sub` left with nothing to substitute (such as
 * `!Sub ${Route}Function` once expanded) is its plain string, as CloudFormation resolves it.
 */

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const LOOP = 'Fn::ForEach::';

export class ForEachError extends Error {
  override readonly name = 'ForEachError';
}

/** True when the template declares AWS::LanguageExtensions among its transforms. */
function usesLanguageExtensions(doc: Record<string, unknown>): boolean {
  return [doc.Transform ?? []].flat().includes('AWS::LanguageExtensions');
}

function substitute(value: unknown, identifier: string, item: string): unknown {
  if (typeof value === 'string') {
    return value
      .split(`\${${identifier}}`)
      .join(item)
      .split(`&{${identifier}}`)
      .join(item.replace(/[^A-Za-z0-9]/g, ''));
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, identifier, item));
  if (!isRecord(value)) return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === 'Ref' && value.Ref === identifier) return item;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [substitute(k, identifier, item) as string, substitute(v, identifier, item)]),
  );
}

/** `{ "Fn::Sub": "text" }` with no `${` left in it: the text. */
function plainSub(value: Record<string, unknown>): unknown {
  const keys = Object.keys(value);
  const sub = value['Fn::Sub'];
  return keys.length === 1 && typeof sub === 'string' && !sub.includes('${') ? sub : value;
}

function collectionOf(loop: string, collection: unknown, parameters: Record<string, unknown>): string[] {
  let items = collection;
  if (isRecord(collection) && typeof collection.Ref === 'string') {
    items = parameters[collection.Ref];
    if (items === undefined) throw new ForEachError(`${loop}: the collection refers to ${collection.Ref}, which is not a parameter`);
    if (typeof items === 'string') items = items.split(',');
  }
  if (!Array.isArray(items) || items.some((item) => typeof item !== 'string' && typeof item !== 'number')) {
    throw new ForEachError(`${loop}: the collection must be a list of strings or a Ref to a CommaDelimitedList parameter`);
  }
  return items.map(String);
}

function expandNode(value: unknown, parameters: Record<string, unknown>): unknown {
  if (Array.isArray(value)) return value.map((v) => expandNode(v, parameters));
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  const put = (key: string, v: unknown, loop?: string): void => {
    if (key in out) throw new ForEachError(`${loop ?? key}: the key ${key} is declared twice`);
    out[key] = v;
  };
  for (const [key, inner] of Object.entries(value)) {
    if (!key.startsWith(LOOP)) {
      put(key, expandNode(inner, parameters));
      continue;
    }
    if (!Array.isArray(inner) || inner.length !== 3 || typeof inner[0] !== 'string' || !isRecord(inner[2])) {
      throw new ForEachError(`${key}: expected [Identifier, Collection, { OutputKey: OutputValue }]`);
    }
    const [identifier, collection, fragment] = inner as [string, unknown, Record<string, unknown>];
    for (const item of collectionOf(key, collection, parameters)) {
      const expanded = expandNode(substitute(fragment, identifier, item), parameters) as Record<string, unknown>;
      for (const [outputKey, output] of Object.entries(expanded)) {
        put(outputKey, output, key);
      }
    }
  }
  return plainSub(out);
}

/**
 * The template with every `Fn::ForEach` expanded and AWS::LanguageExtensions taken off its
 * transforms (or the template itself when it does not declare the transform). `parameters`:
 * the values of parameters a collection may refer to (CommaDelimitedList: a list or a string).
 */
export function expandLanguageExtensions(doc: Record<string, unknown>, parameters: Record<string, unknown> = {}): Record<string, unknown> {
  if (!usesLanguageExtensions(doc)) return doc;
  const defaults = Object.fromEntries(
    Object.entries(isRecord(doc.Parameters) ? doc.Parameters : {}).map(([name, spec]) => [name, isRecord(spec) ? spec.Default : undefined]),
  );
  const values = { ...defaults, ...parameters };
  const transforms = [doc.Transform].flat().filter((t) => t !== 'AWS::LanguageExtensions');
  const out: Record<string, unknown> = {};
  for (const [section, value] of Object.entries(doc)) {
    if (section === 'Transform') {
      if (transforms.length > 0) out.Transform = transforms.length === 1 ? transforms[0] : transforms;
    } else {
      out[section] = ['Resources', 'Conditions', 'Outputs'].includes(section) ? expandNode(value, values) : value;
    }
  }
  return out;
}
