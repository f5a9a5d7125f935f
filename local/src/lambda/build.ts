/**
 * Builds what the local runtime runs, the way `sam build` does: a function of BuildMethod esbuild
 * bundled by esbuild with its template BuildProperties, a function or layer of BuildMethod makefile
 * through its Makefile target (`make build-<LogicalId> ARTIFACTS_DIR=<dir>` in its ContextPath). Outputs go to an OS temporary directory, named by
 * content hash, so that nothing above them resolves the project's node_modules (as in Lambda,
 * where /var/task has none) and so that several runtimes can share them.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { mkdir, readdir, readFile, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build, type BuildOptions, type Loader, type OutputFile } from 'esbuild';
import type { EsbuildProperties, FunctionModel, LayerModel, TemplateModel } from '../template/template.js';

const run = promisify(execFile);

/** The node_modules the local runtime itself was installed in (holds esbuild and the AWS SDK). */
const ownNodeModules = (): string => {
  const require = createRequire(import.meta.url);
  return dirname(dirname(require.resolve('esbuild/package.json')));
};

export interface BuiltFunction {
  logicalId: string;
  /** The directory Lambda would call /var/task. */
  taskRoot: string;
  /** Absolute path of the module holding the handler. */
  handlerFile: string;
  exportName: string;
}

export interface BuildOutput {
  functions: Map<string, BuiltFunction>;
  /** Layer logical id → the directory Lambda would call /opt (it holds nodejs/node_modules). */
  layers: Map<string, string>;
  /** The worker_threads bootstrap that plays the Lambda Node.js runtime. */
  workerScript: string;
  /** Stands for /var/runtime/node_modules: the AWS SDK v3 that Lambda's Node.js runtimes include. */
  runtimeNodeModules: string;
}

/** Where builds of the project in `projectDir` go. */
export function defaultBuildRoot(projectDir: string): string {
  const id = createHash('sha256').update(resolve(projectDir)).digest('hex').slice(0, 12);
  return join(tmpdir(), 'sam-websocket-local', id);
}

const hashOf = (parts: (string | Uint8Array)[]): string => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex').slice(0, 16);
};

/** Writes files into `dir` unless it is complete already; atomic, so concurrent builders agree. */
async function writeOnce(dir: string, files: { path: string; contents: Uint8Array | string }[]): Promise<void> {
  if (await reuse(dir)) return;
  const temp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  for (const file of files) {
    await mkdir(dirname(join(temp, file.path)), { recursive: true });
    await writeFile(join(temp, file.path), file.contents);
  }
  await writeFile(join(temp, '.complete'), '');
  await publish(temp, dir);
}

/** True when `dir` holds a complete build; its time is refreshed so that prune() keeps it. */
async function reuse(dir: string): Promise<boolean> {
  if (!existsSync(join(dir, '.complete'))) return false;
  const now = new Date();
  await utimes(dir, now, now).catch(() => undefined);
  return true;
}

async function publish(temp: string, dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
    await rename(temp, dir);
  } catch (e: unknown) {
    await rm(temp, { recursive: true, force: true });
    if (!existsSync(join(dir, '.complete'))) throw e;
  }
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Removes the builds of `logicalId` other than `keep` that have not been written for a day
 * (another runtime may still use a recent one), so that edits do not pile up builds.
 */
async function prune(keep: string, logicalId: string): Promise<void> {
  const parent = dirname(keep);
  const entries = await readdir(parent).catch(() => [] as string[]);
  await Promise.all(
    entries
      .filter((name) => name.startsWith(`${logicalId}-`) && join(parent, name) !== keep)
      .map(async (name) => {
        const path = join(parent, name);
        const age = Date.now() - (await stat(path)).mtimeMs;
        if (age > DAY_MS) await rm(path, { recursive: true, force: true });
      }),
  ).catch(() => undefined);
}

/** esbuild's target, lowered to the Node.js running here when the template targets a newer one. */
function localTarget(target: string | undefined): string {
  const here = Number(process.versions.node.split('.')[0]);
  const wanted = /^node(\d+)/.exec(target ?? '');
  if (!target) return `node${here}`;
  return wanted && Number(wanted[1]) > here ? `node${here}` : target;
}

function pairs(list: string[] | undefined): Record<string, string> {
  return Object.fromEntries((list ?? []).map((item) => item.split('=', 2) as [string, string]));
}

function esbuildOptions(fn: FunctionModel, props: EsbuildProperties, outdir: string): BuildOptions {
  const banner = props.Banner ? pairs([props.Banner]) : undefined;
  const footer = props.Footer ? pairs([props.Footer]) : undefined;
  const mainFields = typeof props.MainFields === 'string' ? props.MainFields.split(',') : props.MainFields;
  return {
    entryPoints: (props.EntryPoints ?? [`${fn.handler.split('.')[0]}.ts`]).map((e) => resolve(fn.codeUri, e)),
    outbase: fn.codeUri,
    outdir,
    bundle: true,
    platform: 'node',
    format: props.Format === 'esm' ? 'esm' : 'cjs',
    target: localTarget(props.Target),
    minify: String(props.Minify) === 'true',
    sourcemap: String(props.Sourcemap) === 'true',
    external: props.External ?? [],
    loader: pairs(props.Loader) as Record<string, Loader>,
    outExtension: pairs(props.OutExtension),
    ...(mainFields ? { mainFields } : {}),
    ...(banner ? { banner } : {}),
    ...(footer ? { footer } : {}),
    write: false,
    logLevel: 'silent',
  };
}

function findHandlerFile(taskRoot: string, handler: string, files: string[]): string {
  const dot = handler.lastIndexOf('.');
  const module = handler.slice(0, dot);
  for (const ext of ['.js', '.mjs', '.cjs']) {
    if (files.includes(`${module}${ext}`)) return join(taskRoot, `${module}${ext}`);
  }
  const flat = files.find((f) => /\.(c|m)?js$/.test(f) && basename(f).replace(/\.(c|m)?js$/, '') === basename(module));
  if (flat) return join(taskRoot, flat);
  throw new Error(`handler module ${module} not found in the build of ${taskRoot}`);
}

/** The files of a build output directory, relative to it (the `.complete` marker aside). */
async function outputFiles(dir: string): Promise<{ path: string; contents: Uint8Array }[]> {
  const paths = (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile() && e.name !== '.complete')
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
  return Promise.all(paths.map(async (path) => ({ path, contents: await readFile(join(dir, path)) })));
}

async function buildFunction(fn: FunctionModel, model: TemplateModel, root: string): Promise<BuiltFunction> {
  const exportName = fn.handler.slice(fn.handler.lastIndexOf('.') + 1);
  if (fn.buildMethod !== 'esbuild' && fn.buildMethod !== 'makefile') {
    // No build step: Lambda would run CodeUri's files as they are.
    const files = await readdir(fn.codeUri, { recursive: true });
    return { logicalId: fn.logicalId, taskRoot: fn.codeUri, handlerFile: findHandlerFile(fn.codeUri, fn.handler, files), exportName };
  }
  const staging = join(root, 'functions', fn.logicalId);
  let files: { path: string; contents: Uint8Array | string }[];
  if (fn.buildMethod === 'makefile') {
    files = await outputFiles(await makeBuild({ kind: 'function', ...fn }, model, join(root, 'functions', 'make')));
  } else {
    const result = await build(esbuildOptions(fn, fn.buildProperties, staging));
    files = (result.outputFiles ?? []).map((f: OutputFile) => ({ path: relative(staging, f.path), contents: f.contents }));
    const esmAsJs = fn.buildProperties.Format === 'esm' && !pairs(fn.buildProperties.OutExtension)['.js'];
    if (esmAsJs) files.push({ path: 'package.json', contents: '{"type":"module"}\n' });
  }
  // Named by what it holds: a rebuild that gives the same files keeps the same task root.
  const taskRoot = `${staging}-${hashOf(files.flatMap((f) => [f.path, f.contents]))}`;
  await writeOnce(taskRoot, files);
  void prune(taskRoot, fn.logicalId);
  return {
    logicalId: fn.logicalId,
    taskRoot,
    handlerFile: findHandlerFile(
      taskRoot,
      fn.handler,
      files.map((f) => f.path),
    ),
    exportName,
  };
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .filter((p) => !p.split(/[\\/]/).some((part) => part === 'node_modules' || part === 'dist' || part.startsWith('.')))
    .sort();
}

async function buildLayer(layer: LayerModel, model: TemplateModel, root: string): Promise<string> {
  if (layer.buildMethod !== 'makefile') return layer.contentUri;
  return makeBuild({ kind: 'layer', ...layer }, model, join(root, 'layers'));
}

interface MakeTarget {
  kind: 'function' | 'layer';
  logicalId: string;
  projectRoot: string;
  contextPath: string;
}

/**
 * `make build-<LogicalId> ARTIFACTS_DIR=<dir>` in the target's ContextPath, as `sam build` runs a
 * makefile build, into a directory under `parent` named by the sources it was built from (the
 * ProjectRootDirectory's files and the project's lockfile): an unchanged source is not built again.
 */
async function makeBuild(target: MakeTarget, model: TemplateModel, parent: string): Promise<string> {
  const { kind, logicalId, projectRoot, contextPath } = target;
  const files = await sourceFiles(projectRoot);
  const lockFile = join(model.dir, 'package-lock.json');
  const parts: (string | Uint8Array)[] = existsSync(lockFile) ? [await readFile(lockFile)] : [];
  for (const file of files) parts.push(file, await readFile(join(projectRoot, file)));
  const dir = join(parent, `${logicalId}-${hashOf(parts)}`);
  void prune(dir, logicalId);
  if (await reuse(dir)) return dir;
  const temp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await mkdir(temp, { recursive: true });
  const bins = [join(model.dir, 'node_modules', '.bin'), join(ownNodeModules(), '.bin')];
  const env = { ...process.env, PATH: [...bins, process.env.PATH ?? ''].join(delimiter) };
  try {
    await run('make', [`build-${logicalId}`, `ARTIFACTS_DIR=${temp}`], { cwd: contextPath, env, maxBuffer: 16 << 20 });
  } catch (e: unknown) {
    await rm(temp, { recursive: true, force: true });
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`building ${kind} ${logicalId} needs make (its BuildMethod is makefile, as for sam build): install make`, {
        cause: e,
      });
    }
    const detail = e && typeof e === 'object' && 'stderr' in e ? String(e.stderr).trim() : String(e);
    throw new Error(`building ${kind} ${logicalId} (make build-${logicalId} in ${contextPath}) failed:\n${detail}`, {
      cause: e,
    });
  }
  await writeFile(join(temp, '.complete'), '');
  await publish(temp, dir);
  return dir;
}

async function buildWorkerScript(root: string): Promise<string> {
  const result = await build({
    entryPoints: [join(dirname(fileURLToPath(import.meta.url)), 'lambda-worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${process.versions.node.split('.')[0]}`,
    write: false,
    logLevel: 'silent',
  });
  const code = (result.outputFiles?.[0] as OutputFile).contents;
  const dir = join(root, 'runtime', `worker-${hashOf([code])}`);
  await writeOnce(dir, [{ path: 'lambda-worker.cjs', contents: code }]);
  return join(dir, 'lambda-worker.cjs');
}

async function linkRuntimeSdk(root: string): Promise<string> {
  const modules = join(root, 'runtime', 'node_modules');
  const sdk = join(ownNodeModules(), '@aws-sdk');
  await mkdir(modules, { recursive: true });
  if (existsSync(sdk) && !existsSync(join(modules, '@aws-sdk'))) {
    await symlink(sdk, join(modules, '@aws-sdk'), 'junction').catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  }
  return modules;
}

/** Builds the functions (all of them, or those named) and the layers they use. */
export async function buildAll(model: TemplateModel, root: string, only?: string[]): Promise<BuildOutput> {
  const wanted = [...model.functions.values()].filter((fn) => !only || only.includes(fn.logicalId));
  const layerIds = new Set(wanted.flatMap((fn) => fn.layers));
  const layers = [...model.layers.values()].filter((layer) => layerIds.has(layer.logicalId));
  const [functions, layerDirs, workerScript, runtimeNodeModules] = await Promise.all([
    Promise.all(wanted.map((fn) => buildFunction(fn, model, root))),
    Promise.all(layers.map(async (layer) => [layer.logicalId, await buildLayer(layer, model, root)] as const)),
    buildWorkerScript(root),
    linkRuntimeSdk(root),
  ]);
  return {
    functions: new Map(functions.map((f) => [f.logicalId, f])),
    layers: new Map(layerDirs),
    workerScript,
    runtimeNodeModules,
  };
}
