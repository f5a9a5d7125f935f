/**
 * Reload on save: watches the functions' and layers' source directories and, when something
 * changes, rebuilds (builds are content-addressed, so unchanged functions keep their build) and
 * puts new sandboxes behind the functions whose build changed. Invocations in flight finish on
 * the old sandboxes. Changes to the template itself need a restart.
 */
import { watch, type FSWatcher } from 'node:fs';
import { relative, sep } from 'node:path';
import { buildAll, type BuildOutput } from './build.js';
import type { FunctionPool } from './lambda-pool.js';
import type { RuntimeLog } from '../core/log.js';
import type { TemplateModel } from '../template/template.js';

const IGNORED = new Set(['node_modules', 'dist', '.aws-sam', '.git']);

/** The directories to watch: every CodeUri and layer ContentUri (a makefile build's ProjectRootDirectory), without those inside another. */
function roots(model: TemplateModel): string[] {
  const sources = [...model.functions.values(), ...model.layers.values()].flatMap((code) => [
    'codeUri' in code ? code.codeUri : code.contentUri,
    code.projectRoot,
  ]);
  const dirs = [...new Set(sources)].sort();
  return dirs.filter((dir) => !dirs.some((other) => other !== dir && !relative(other, dir).startsWith('..')));
}

/** What a function's build depends on: its own output and its layers'. */
const fingerprint = (build: BuildOutput, model: TemplateModel, id: string): string =>
  [build.functions.get(id)?.taskRoot, ...(model.functions.get(id)?.layers ?? []).map((l) => build.layers.get(l))].join('|');

export interface ReloadOptions {
  model: TemplateModel;
  buildRoot: string;
  log: RuntimeLog;
  pools: Map<string, FunctionPool>;
  initial: BuildOutput;
  createPools(build: BuildOutput): Map<string, FunctionPool>;
}

/** Starts watching; returns the function that stops. */
export function reloadOnChange(options: ReloadOptions): () => void {
  const { model, log, pools } = options;
  let current = options.initial;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const reload = async (): Promise<void> => {
    let next: BuildOutput;
    try {
      next = await buildAll(model, options.buildRoot);
    } catch (e: unknown) {
      log.warn(`rebuild failed, still serving the previous build: ${(e as Error).message}`);
      return;
    }
    const fresh = options.createPools(next);
    const changed = [...fresh.keys()].filter((id) => fingerprint(next, model, id) !== fingerprint(current, model, id));
    for (const [id, pool] of fresh) {
      if (!changed.includes(id)) continue;
      const old = pools.get(id);
      pools.set(id, pool);
      void old?.retire();
    }
    current = next;
    if (changed.length > 0) log.info(`reloaded ${changed.join(', ')}`);
  };

  const watchers: FSWatcher[] = roots(model).map((dir) =>
    watch(dir, { recursive: true }, (_event, file) => {
      if (
        file &&
        String(file)
          .split(sep)
          .some((part) => IGNORED.has(part))
      )
        return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        running = running.then(reload);
      }, 150);
    }),
  );
  watchers.forEach((w) => w.on('error', (e) => log.warn(`watching sources: ${e.message}`)));
  return () => {
    clearTimeout(timer);
    watchers.forEach((w) => w.close());
  };
}
