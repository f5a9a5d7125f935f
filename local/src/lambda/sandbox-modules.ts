/**
 * Inside a sandbox: bare imports of an ES module handler resolve from NODE_PATH as they do from
 * CommonJS. Lambda's Node.js runtime puts the layers' `/opt/nodejs/node_modules` and the AWS
 * SDK v3 it provides on NODE_PATH, and an ES module handler (`.mjs`, or `.js` under
 * `"type": "module"`) imports `@aws-sdk/client-dynamodb` or a layer's package without a
 * node_modules of its own. Node.js ignores NODE_PATH for `import`, so a resolve hook retries a
 * bare specifier that was not found as if it were imported from each NODE_PATH directory.
 *
 * module.registerHooks (synchronous, in this thread) exists from Node.js 22.15 and 23.5. On an
 * older Node.js (20, for a template of nodejs20.x) the same hook is registered with
 * module.register, which runs it on the loader's own thread (Node.js 20.6 and later).
 */
import * as nodeModule from 'node:module';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';

type ResolveContext = { parentURL?: string; conditions?: string[]; importAttributes?: Record<string, string> };
type ResolveResult = { url: string; format?: string | null; shortCircuit?: boolean };
type NextResolve = (specifier: string, context?: ResolveContext) => ResolveResult;
type RegisterHooks = (hooks: { resolve: (specifier: string, context: ResolveContext, next: NextResolve) => ResolveResult }) => unknown;

/** A package name, not a path, URL or built-in. */
const isBare = (specifier: string): boolean => !/^(?:\.{0,2}\/|[a-z][a-z0-9+.-]*:)/i.test(specifier);

/**
 * The same resolve hook for module.register (an ES module of its own, run on the loader thread):
 * it gets the NODE_PATH parents through `initialize`.
 */
const ASYNC_HOOKS = `
const bare = (specifier) => !/^(?:\\.{0,2}\\/|[a-z][a-z0-9+.-]*:)/i.test(specifier);
let parents = [];
export function initialize(data) { parents = data.parents; }
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    if (!bare(specifier) || error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    for (const parentURL of parents) {
      try {
        return await next(specifier, { ...context, parentURL });
      } catch {}
    }
    throw error;
  }
}`;

type Register = (specifier: string, options: { data: unknown }) => void;

/**
 * Installs the hook when NODE_PATH has directories: with module.registerHooks where this Node.js
 * has it, else with module.register. `how` forces one (for tests); the result says which ran.
 */
export function resolveImportsFromNodePath(
  nodePath = process.env.NODE_PATH ?? '',
  how?: 'registerHooks' | 'register',
): 'registerHooks' | 'register' | false {
  const { registerHooks, register } = nodeModule as unknown as { registerHooks?: RegisterHooks; register?: Register };
  // A file inside each directory: resolution from there looks in that node_modules directory.
  const parents = nodePath
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => pathToFileURL(join(dir, 'index.js')).href);
  if (parents.length === 0) return false;
  if (registerHooks && how !== 'register') {
    registerHooks({
      resolve(specifier, context, next) {
        try {
          return next(specifier, context);
        } catch (error: unknown) {
          if (!isBare(specifier) || (error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
          for (const parentURL of parents) {
            try {
              return next(specifier, { ...context, parentURL });
            } catch {
              // not in this directory either
            }
          }
          throw error;
        }
      },
    });
    return 'registerHooks';
  }
  if (!register || how === 'registerHooks') return false;
  register(`data:text/javascript,${encodeURIComponent(ASYNC_HOOKS)}`, { data: { parents } });
  return 'register';
}
