/**
 * ES module handlers import the packages Lambda provides (the AWS SDK, a layer's) from NODE_PATH,
 * wherever the handler lives on disk (sandbox-modules.ts): with module.registerHooks on Node.js
 * 22.15 and later, with module.register on older ones (a nodejs20.x template runs on Node.js 20).
 * Each case runs in a worker thread of its own, as a sandbox does, on a handler outside any
 * node_modules.
 */
import * as nodeModule from 'node:module';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { expect } from 'chai';
import { build } from 'esbuild';

const HERE = import.meta.dirname ?? '.';

describe('sandbox: ES module imports from NODE_PATH (sandbox-modules.ts)', function () {
  this.timeout(20_000);
  let dir: string;
  let hookScript: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-modules-'));
    // What Lambda provides, under a NODE_PATH directory: a package only importable through it.
    const provided = join(dir, 'runtime', 'node_modules', 'provided-package');
    mkdirSync(provided, { recursive: true });
    writeFileSync(join(provided, 'package.json'), JSON.stringify({ name: 'provided-package', type: 'module', exports: './index.js' }));
    writeFileSync(join(provided, 'index.js'), 'export const answer = 42;\n');
    mkdirSync(join(dir, 'app'));
    writeFileSync(join(dir, 'app', 'handler.mjs'), "import { answer } from 'provided-package';\nexport const handler = () => answer;\n");
    const bundled = await build({
      entryPoints: [join(HERE, '..', '..', 'src', 'lambda', 'sandbox-modules.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      write: false,
      logLevel: 'silent',
    });
    hookScript = join(dir, 'sandbox-modules.cjs');
    writeFileSync(hookScript, bundled.outputFiles[0]?.contents ?? '');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** In a fresh worker: installs the hook (or not) and imports the handler; what it got, or the error code. */
  function importInWorker(how: 'registerHooks' | 'register' | 'none'): Promise<{ installed: string | false; result: string }> {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { resolveImportsFromNodePath } = require(workerData.hookScript);
      const installed = workerData.how === 'none' ? false : resolveImportsFromNodePath(workerData.nodePath, workerData.how);
      import(workerData.handler).then(
        (m) => parentPort.postMessage({ installed, result: String(m.handler()) }),
        (e) => parentPort.postMessage({ installed, result: e.code ?? e.message }),
      );`;
    const worker = new Worker(code, {
      eval: true,
      workerData: {
        hookScript,
        how,
        nodePath: join(dir, 'runtime', 'node_modules'),
        handler: pathToFileURL(join(dir, 'app', 'handler.mjs')).href,
      },
    });
    return new Promise((resolve, reject) => {
      worker.once('message', (message: { installed: string | false; result: string }) => {
        void worker.terminate();
        resolve(message);
      });
      worker.once('error', reject);
    });
  }

  it('cannot import without the hook (Node.js ignores NODE_PATH for import)', async () => {
    expect(await importInWorker('none')).to.deep.equal({ installed: false, result: 'ERR_MODULE_NOT_FOUND' });
  });

  it('imports through module.register, as on Node.js 20', async () => {
    expect(await importInWorker('register')).to.deep.equal({ installed: 'register', result: '42' });
  });

  it('imports through module.registerHooks where this Node.js has it (22.15 and later), and says so where it does not', async () => {
    const result = await importInWorker('registerHooks');
    const has = typeof (nodeModule as { registerHooks?: unknown }).registerHooks === 'function';
    expect(result).to.deep.equal(has ? { installed: 'registerHooks', result: '42' } : { installed: false, result: 'ERR_MODULE_NOT_FOUND' });
  });
});
