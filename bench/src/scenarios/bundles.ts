/**
 * Per function: the size of its bundle as built for Lambda, and its cold init time, a fresh
 * `node` process loading the bundle with the layer resolved as Lambda resolves it
 * (/opt/nodejs/node_modules on NODE_PATH). Built by `sam build` into a benchmark-only build
 * directory when sam is installed, else by the local runtime's build (esbuild per function,
 * the layer's Makefile). Builds are copied (or made) under the OS temporary directory so that
 * nothing resolves this project's node_modules, as in Lambda's /var/task.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { type FunctionModel, type TemplateModel, buildAll } from 'sam-websocket-local';
import { median } from '../harness/stats';

const run = promisify(execFile);

export interface FunctionBundle {
  logicalId: string;
  /** The bundle (index.js) and its source map, in bytes. */
  bytes: number;
  mapBytes: number;
  handlerFile: string;
  /** Medians over the cold starts: loading the handler module, with the template's NODE_OPTIONS and without. */
  initMs: number;
  initNoSourceMapsMs: number;
  /** From process start to handler loaded (Node.js's own start-up included). */
  processMs: number;
}

export interface Bundles {
  tool: string;
  command: string;
  buildSeconds: number;
  /** Where the layer lives (the directory Lambda calls /opt). */
  opt: string;
  /** The layer's JavaScript a cold start loads (all but `credentials/`). */
  layerBytes: number;
  layerMapBytes: number;
  /** The SDK credential providers the layer loads only when the environment has none (`credentials/`; absent from older runs). */
  layerLazyBytes?: number;
  functions: FunctionBundle[];
  close(): Promise<void>;
}

const sizeOf = (file: string): Promise<number> =>
  stat(file).then(
    (s) => s.size,
    () => 0,
  );

async function samInstalled(): Promise<boolean> {
  return run('sam', ['--version'], { timeout: 30_000 }).then(
    () => true,
    () => false,
  );
}

interface Built {
  tool: string;
  command: string;
  opt: string;
  functions: Map<string, string>;
}

async function samBuild(model: TemplateModel, scratch: string): Promise<Built> {
  const buildDir = join(model.dir, '.aws-sam', 'bench', 'build');
  const args = ['build', '--build-dir', buildDir, '--cache-dir', join(model.dir, '.aws-sam', 'bench', 'cache')];
  await run('sam', args, { cwd: model.dir, timeout: 300_000, maxBuffer: 64 << 20, env: { ...process.env, SAM_CLI_TELEMETRY: '0' } });
  const functions = new Map<string, string>();
  for (const fn of model.functions.values()) {
    const task = join(scratch, 'task', fn.logicalId);
    await cp(join(buildDir, fn.logicalId), task, { recursive: true });
    functions.set(fn.logicalId, join(task, `${fn.handler.split('.')[0]}.js`));
  }
  const opt = join(scratch, 'opt');
  for (const layer of model.layers.values()) await cp(join(buildDir, layer.logicalId), opt, { recursive: true });
  return { tool: 'sam build', command: `sam ${args.join(' ').replaceAll(model.dir + '/', '')}`, opt, functions };
}

async function esbuildBuild(model: TemplateModel, scratch: string, why: string): Promise<Built> {
  const output = await buildAll(model, scratch);
  const functions = new Map([...output.functions.values()].map((f) => [f.logicalId, f.handlerFile]));
  const opt = [...output.layers.values()][0] ?? '';
  return { tool: `esbuild as the local runtime builds (${why})`, command: 'buildAll() from local/src/lambda/build.ts', opt, functions };
}

async function layerFiles(opt: string): Promise<{ bytes: number; mapBytes: number; lazyBytes: number }> {
  const files = (await readdir(join(opt, 'nodejs', 'node_modules'), { recursive: true })).map((f) =>
    join(opt, 'nodejs', 'node_modules', f),
  );
  let bytes = 0;
  let mapBytes = 0;
  let lazyBytes = 0;
  for (const file of files) {
    const lazy = file.split(/[\\/]/).includes('credentials');
    if (file.endsWith('.js') && lazy) lazyBytes += await sizeOf(file);
    else if (file.endsWith('.js')) bytes += await sizeOf(file);
    else if (file.endsWith('.js.map') && !lazy) mapBytes += await sizeOf(file);
  }
  return { bytes, mapBytes, lazyBytes };
}

/** The environment Lambda would give the function (the template's, then Lambda's own variables). */
function lambdaEnv(fn: FunctionModel, opt: string, handlerFile: string, nodeOptions: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    LANG: 'en_US.UTF-8',
    ...fn.environment,
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_LAMBDA_FUNCTION_NAME: fn.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    LAMBDA_TASK_ROOT: join(handlerFile, '..'),
    _HANDLER: fn.handler,
    NODE_PATH: [join(opt, 'nodejs', 'node_modules')].join(delimiter),
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  };
  if (nodeOptions) env.NODE_OPTIONS = nodeOptions;
  else delete env.NODE_OPTIONS;
  return env;
}

/** Loads the handler module in a fresh process; returns [load ms, ms since process start]. */
const PROBE = `const t=performance.now();const m=require(process.argv[1]);const e=performance.now();
if(typeof m[process.argv[2]]!=='function'){console.error('no handler '+process.argv[2]);process.exit(3)}
process.stdout.write(JSON.stringify([e-t,e]))`;

async function coldStart(fn: FunctionModel, opt: string, handlerFile: string, nodeOptions: string | undefined): Promise<[number, number]> {
  const exportName = fn.handler.slice(fn.handler.lastIndexOf('.') + 1);
  const { stdout } = await run(process.execPath, ['-e', PROBE, handlerFile, exportName], {
    cwd: join(handlerFile, '..'),
    env: lambdaEnv(fn, opt, handlerFile, nodeOptions),
    timeout: 30_000,
  });
  return JSON.parse(stdout) as [number, number];
}

export async function measureBundles(model: TemplateModel, options: { sam: boolean; why: string; coldStarts: number }): Promise<Bundles> {
  const scratch = await mkdtemp(join(tmpdir(), 'chat-bench-build-'));
  const started = performance.now();
  const sam = options.sam && (await samInstalled());
  const built = sam
    ? await samBuild(model, scratch)
    : await esbuildBuild(model, scratch, options.sam ? 'sam is not installed' : options.why);
  const buildSeconds = (performance.now() - started) / 1000;
  const layer = await layerFiles(built.opt);
  const fns = [...model.functions.values()].filter((fn) => built.functions.has(fn.logicalId));
  const samples = new Map(fns.map((fn) => [fn.logicalId, { init: [] as number[], noMaps: [] as number[], process: [] as number[] }]));
  // Interleaved, so that a busy moment of the machine spreads over every function.
  for (let i = 0; i < options.coldStarts; i += 1) {
    for (const fn of fns) {
      const file = built.functions.get(fn.logicalId) as string;
      const entry = samples.get(fn.logicalId) as { init: number[]; noMaps: number[]; process: number[] };
      const [initMs, processMs] = await coldStart(fn, built.opt, file, fn.environment.NODE_OPTIONS);
      entry.init.push(initMs);
      entry.process.push(processMs);
      entry.noMaps.push((await coldStart(fn, built.opt, file, undefined))[0]);
    }
  }
  const functions: FunctionBundle[] = [];
  for (const fn of fns) {
    const file = built.functions.get(fn.logicalId) as string;
    const entry = samples.get(fn.logicalId) as { init: number[]; noMaps: number[]; process: number[] };
    functions.push({
      logicalId: fn.logicalId,
      bytes: await sizeOf(file),
      mapBytes: await sizeOf(`${file}.map`),
      handlerFile: file,
      initMs: median(entry.init),
      initNoSourceMapsMs: median(entry.noMaps),
      processMs: median(entry.process),
    });
  }
  return {
    tool: built.tool,
    command: built.command,
    buildSeconds,
    opt: built.opt,
    layerBytes: layer.bytes,
    layerMapBytes: layer.mapBytes,
    layerLazyBytes: layer.lazyBytes,
    functions,
    close: () => rm(scratch, { recursive: true, force: true }),
  };
}
