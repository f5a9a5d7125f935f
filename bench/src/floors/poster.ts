/**
 * The main-thread side of poster-worker.ts: bundles it once (esbuild; packages stay external
 * and resolve from this project's node_modules), starts workers, runs jobs one at a time.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import type { PosterJob, PosterOptions, PosterReply } from './poster-worker';
import { within } from '../harness/stats';

let bundled: Promise<string> | undefined;

/** Bundles the worker under <project>/.aws-sam/bench (ignored by git), once per run. */
function workerScript(projectDir: string): Promise<string> {
  bundled ??= (async () => {
    const outfile = join(projectDir, '.aws-sam', 'bench', 'poster-worker.cjs');
    await build({
      entryPoints: [join(__dirname, 'poster-worker.ts')],
      outfile,
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'cjs',
      target: `node${process.versions.node.split('.')[0]}`,
      logLevel: 'silent',
    });
    return outfile;
  })();
  return bundled;
}

export interface Poster {
  run(job: PosterJob, timeoutMs?: number): Promise<PosterReply>;
  close(): Promise<void>;
}

/** A worker thread with its own environment (a layer reads its configuration from it). */
export async function startPoster(projectDir: string, options: PosterOptions = {}, env: Record<string, string> = {}): Promise<Poster> {
  const worker = new Worker(await workerScript(projectDir), {
    workerData: options,
    env: { ...process.env, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', ...env },
  });
  let failure: Error | undefined;
  worker.on('error', (error) => (failure = error));
  await new Promise((resolve) => setImmediate(resolve));
  return {
    run: (job, timeoutMs = 60_000) => {
      if (failure) return Promise.reject(failure);
      const reply = new Promise<PosterReply>((resolve, reject) => {
        const settle = (error: Error | undefined, message?: PosterReply): void => {
          worker.off('message', onMessage);
          worker.off('error', onError);
          if (error) reject(error);
          else resolve(message as PosterReply);
        };
        const onMessage = (message: PosterReply): void => settle(message.error ? new Error(message.error) : undefined, message);
        const onError = (error: Error): void => settle(error);
        worker.on('message', onMessage);
        worker.on('error', onError);
      });
      worker.postMessage(job);
      return within(timeoutMs, `poster job ${job.kind}`, reply);
    },
    close: async () => {
      await worker.terminate();
    },
  };
}
