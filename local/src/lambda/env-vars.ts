/**
 * Environment overrides in the format of `sam local invoke --env-vars` (SAM CLI's own rules):
 * `{"Parameters": {...}}` for every function, `{"<FunctionLogicalId>": {...}}` for one, the
 * function's entry winning; a value replaces only a variable the function's template Environment
 * declares (others are ignored, as SAM ignores them); every value becomes a string.
 */
import { readFile } from 'node:fs/promises';
import type { FunctionModel } from '../template/template.js';

export type EnvVarsFile = Record<string, Record<string, unknown>>;

/** Reads and checks an env-vars file: a JSON object of objects, as SAM CLI requires. */
export async function readEnvVarsFile(path: string): Promise<EnvVarsFile> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (e: unknown) {
    throw new Error(`--env-vars ${path}: ${(e as Error).message}`, { cause: e });
  }
  const isObject = (value: unknown): value is Record<string, unknown> =>
    typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!isObject(json)) throw new Error(`--env-vars ${path}: expected {"Parameters": {...}, "<FunctionLogicalId>": {...}}`);
  const wrong = Object.entries(json).filter(([, value]) => !isObject(value));
  if (wrong.length > 0) {
    throw new Error(
      `--env-vars ${path}: ${wrong.map(([key]) => key).join(', ')} must be an object of variables (as sam local invoke requires)`,
    );
  }
  return json as EnvVarsFile;
}

/** The overrides `file` gives `fn`. */
export function envVarsFor(file: EnvVarsFile | undefined, fn: Pick<FunctionModel, 'logicalId' | 'environment'>): Record<string, string> {
  if (!file) return {};
  const merged = { ...file.Parameters, ...file[fn.logicalId] };
  return Object.fromEntries(
    Object.entries(merged)
      .filter(([name]) => Object.hasOwn(fn.environment, name))
      .map(([name, value]) => [name, value === null || typeof value === 'object' ? '' : String(value)]),
  );
}
