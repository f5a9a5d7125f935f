/**
 * The template's functions as the runtime invokes them: a pool of sandboxes per function
 * (lambda-pool.ts), rebuilt and swapped when their sources change (watch.ts), each invocation
 * given the faults' timeout (faults.ts) and counted per function.
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { Faults } from '../faults/faults.js';
import type { RuntimeLog } from '../core/log.js';
import type { TemplateModel } from '../template/template.js';
import type { BuildOutput } from './build.js';
import { createFunctionPools, type LocalWiring, type PoolOptions } from './lambda-env.js';
import type { FunctionPool, InvokeOutcome } from './lambda-pool.js';
import { reloadOnChange } from './watch.js';

/**
 * Sandboxes per function by default: one per core. Each is a worker thread with its own V8
 * isolate, its own copy of the layer, JIT and heap; more of them than cores only adds CPU per
 * invocation (docs/PERFORMANCE.md measured 8 against one per core) and cold starts.
 */
export const DEFAULT_SANDBOXES = availableParallelism();

export interface FunctionStats {
  invocations: number;
  errors: number;
  coldStarts: number;
}

export interface LocalFunctionsOptions {
  model: TemplateModel;
  build: BuildOutput;
  wiring: LocalWiring;
  pool: PoolOptions;
  faults: Faults;
  log: RuntimeLog;
  /** Rebuild and reload a function when its sources change. */
  watch: boolean;
}

export class LocalFunctions {
  private readonly pools: Map<string, FunctionPool>;
  private readonly counts: Record<string, FunctionStats> = {};
  private readonly stopWatching: () => void = () => undefined;

  constructor(private readonly options: LocalFunctionsOptions) {
    const { model, build, wiring, pool, log } = options;
    this.pools = createFunctionPools(model, build, wiring, pool);
    if (options.watch) {
      this.stopWatching = reloadOnChange({
        model,
        buildRoot: wiring.buildRoot,
        log,
        pools: this.pools,
        initial: build,
        createPools: (next) => createFunctionPools(model, next, wiring, pool),
      });
    }
  }

  /** One invocation of `functionId`; a function the template does not have answers ResourceNotFoundException. */
  readonly invoke = (functionId: string, event: unknown): Promise<InvokeOutcome> => {
    const pool = this.pools.get(functionId);
    if (!pool) {
      const error = {
        errorType: 'ResourceNotFoundException',
        errorMessage: `Function not found: ${functionId} (${this.options.model.path})`,
      };
      return Promise.resolve({ requestId: randomUUID(), error, durationMs: 0 });
    }
    const timeoutMs = this.options.faults.invocationTimeout(functionId);
    return pool.invoke(event, undefined, timeoutMs === undefined ? {} : { timeoutMs }).then((outcome) => {
      const entry = (this.counts[functionId] ??= { invocations: 0, errors: 0, coldStarts: 0 });
      entry.invocations += 1;
      if (outcome.error) entry.errors += 1;
      if (outcome.initMs !== undefined) entry.coldStarts += 1;
      return outcome;
    });
  };

  /** Invocations, errors and cold starts so far, per function. */
  stats(): Record<string, FunctionStats> {
    return structuredClone(this.counts);
  }

  /** Starts one sandbox per function, one function after another, so that start-up stays responsive. */
  async prewarm(): Promise<void> {
    for (const pool of this.pools.values()) await pool.warm();
  }

  async close(): Promise<void> {
    this.stopWatching();
    await Promise.all([...this.pools.values()].map((pool) => pool.close()));
  }
}
