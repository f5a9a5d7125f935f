/**
 * Reads a CloudFormation/SAM template written in YAML into plain JSON-like values.
 *
 * Short-form intrinsic tags become their long form (`!Ref X` → `{ Ref: "X" }`,
 * `!GetAtt A.B` → `{ "Fn::GetAtt": ["A", "B"] }`, `!Sub s` → `{ "Fn::Sub": s }`),
 * anchors and aliases are followed, and `<<` merge keys are applied.
 */
import { readFile } from 'node:fs/promises';
import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Tags } from 'yaml';

const FUNCTION_TAGS = [
  'Base64',
  'Cidr',
  'FindInMap',
  'GetAtt',
  'GetAZs',
  'ImportValue',
  'Join',
  'Select',
  'Split',
  'Sub',
  'Transform',
  'If',
  'Equals',
  'Not',
  'And',
  'Or',
  'Length',
  'ToJsonString',
];
const ALL_TAGS = ['Ref', 'Condition', ...FUNCTION_TAGS];

/** Declares every intrinsic tag in its scalar, sequence and mapping form, keeping the node as is. */
const customTags: Tags = ALL_TAGS.flatMap((name) => [
  { tag: `!${name}`, resolve: (value: string) => value },
  { tag: `!${name}`, collection: 'seq' as const, resolve: (node: unknown) => node },
  { tag: `!${name}`, collection: 'map' as const, resolve: (node: unknown) => node },
]);

function intrinsic(tag: string, value: unknown): unknown {
  const name = tag.slice(1);
  if (name === 'Ref' || name === 'Condition') return { [name]: value };
  if (name === 'GetAtt' && typeof value === 'string') {
    const dot = value.indexOf('.');
    return { 'Fn::GetAtt': dot < 0 ? [value] : [value.slice(0, dot), value.slice(dot + 1)] };
  }
  if (ALL_TAGS.includes(name)) return { [`Fn::${name}`]: value };
  return value;
}

function convert(node: unknown, doc: Document): unknown {
  if (isAlias(node)) return convert(node.resolve(doc), doc);
  let value: unknown;
  if (isScalar(node)) {
    value = node.value;
  } else if (isSeq(node)) {
    value = node.items.map((item) => convert(item, doc));
  } else if (isMap(node)) {
    const out: Record<string, unknown> = {};
    const merged: Record<string, unknown>[] = [];
    for (const pair of node.items) {
      const key = String(convert(pair.key, doc));
      const item = convert(pair.value, doc);
      if (key === '<<' && isScalar(pair.key) && pair.key.type === 'PLAIN') {
        for (const source of Array.isArray(item) ? item : [item]) {
          if (source && typeof source === 'object') merged.push(source as Record<string, unknown>);
        }
      } else {
        out[key] = item;
      }
    }
    for (const source of merged) {
      for (const [key, item] of Object.entries(source)) if (!(key in out)) out[key] = item;
    }
    value = out;
  } else {
    return node ?? null;
  }
  const tag = (node as Node).tag;
  return tag?.startsWith('!') ? intrinsic(tag, value) : value;
}

/** Parses YAML (or JSON, which is YAML) template text. */
export function parseTemplateText(text: string, source = 'template'): Record<string, unknown> {
  const doc = parseDocument(text, { customTags, uniqueKeys: false });
  if (doc.errors.length > 0) {
    throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
  }
  const value = convert(doc.contents, doc);
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${source}: the template is not a mapping`);
  }
  return value as Record<string, unknown>;
}

export async function readTemplateFile(path: string): Promise<Record<string, unknown>> {
  return parseTemplateText(await readFile(path, 'utf8'), path);
}
