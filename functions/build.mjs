// Bundles one function of this folder for Lambda: `node build.mjs <FunctionLogicalId> <artifacts>`
// (the Makefile's target; the logical id names the folder: SendMessageFunction → sendmessage/).
//
// The bundle is the function's own code (the authorizer's also carries jose and the Powertools
// logger); chat-core stays external, loaded from the layer at /opt/nodejs/node_modules. Its source
// map lists the sources relative to the function's folder (`index.ts`, `node_modules/jose/...`)
// without their content, whichever folder the build ran in (this one, a copy SAM made in a
// temporary directory, a container's), so that the same sources always give the same bytes and
// stack traces on Lambda name /var/task/<file>.ts.
//
// esbuild comes from the packages installed here (the workspace's, in source) when every package
// package.json names resolves at the version package-lock.json pins; otherwise (a copy of this
// folder alone) package.json and package-lock.json are copied to a temporary folder and `npm ci`
// installs exactly the locked packages there. Nothing is written into the folder the build runs in.
//
// Plain JavaScript for any Node.js from 20 (a machine's own `node` runs `sam build`).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const FUNCTIONS_DIR = path.dirname(fileURLToPath(import.meta.url));
/** The layer's package: every import of it (chat-core, chat-core/identity) resolves at run time from /opt. */
const LAYER_PACKAGE = 'chat-core';

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

/** The version of `name` that Node.js (and esbuild) resolve from `dir`, or undefined. */
function resolvedVersion(name, dir) {
  for (let current = dir; ; current = path.dirname(current)) {
    const manifest = path.join(current, 'node_modules', name, 'package.json');
    if (existsSync(manifest)) return readJson(manifest).version;
    if (path.dirname(current) === current) return undefined;
  }
}

/** Where the locked packages resolve from: this folder, or a temporary copy with them installed. */
function packagesDir() {
  const manifest = readJson(path.join(FUNCTIONS_DIR, 'package.json'));
  const lock = readJson(path.join(FUNCTIONS_DIR, 'package-lock.json'));
  const names = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies });
  const missing = names.filter((name) => resolvedVersion(name, FUNCTIONS_DIR) !== lock.packages?.[`node_modules/${name}`]?.version);
  if (missing.length === 0) return { dir: FUNCTIONS_DIR, copy: false };
  process.stdout.write(
    `functions: ${missing.length} package(s) not installed at their locked version (${missing.join(', ')}); installing from package-lock.json\n`,
  );
  const copy = mkdtempSync(path.join(os.tmpdir(), 'chat-functions-build-'));
  for (const file of ['package.json', 'package-lock.json']) copyFileSync(path.join(FUNCTIONS_DIR, file), path.join(copy, file));
  // --prefix keeps npm from looking for a workspace root above the copy.
  execFileSync('npm', ['ci', '--prefix', copy, '--include=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return { dir: copy, copy: true };
}

/**
 * Source paths relative to the function's folder; a package, wherever it was installed (the
 * workspace's node_modules, a temporary copy's), as `node_modules/<package>/...`.
 */
function relocateSourceMap(mapFile, functionDir) {
  const map = readJson(mapFile);
  map.sources = map.sources.map((source) => {
    const absolute = path.resolve(path.dirname(mapFile), source).split(path.sep).join('/');
    const packages = absolute.lastIndexOf('/node_modules/');
    if (packages >= 0) return absolute.slice(packages + 1);
    return path.relative(functionDir, absolute).split(path.sep).join('/');
  });
  writeFileSync(mapFile, JSON.stringify(map));
}

async function main() {
  const [logicalId, artifacts] = process.argv.slice(2);
  if (!logicalId || !artifacts) throw new Error('usage: node build.mjs <FunctionLogicalId> <artifacts directory>');
  const folder = logicalId.replace(/Function$/, '').toLowerCase();
  const functionDir = path.join(FUNCTIONS_DIR, folder);
  const entry = path.join(functionDir, 'index.ts');
  if (!existsSync(entry))
    throw new Error(`${logicalId}: no ${folder}/index.ts (a function's folder is its logical id without "Function", in lowercase)`);

  const packages = packagesDir();
  try {
    const esbuild = createRequire(path.join(packages.dir, 'package.json'))('esbuild');
    // Packages resolve from the installed copy when there is one (nodePaths), the sources from here.
    await esbuild.build({
      absWorkingDir: functionDir,
      entryPoints: [entry],
      outdir: path.resolve(artifacts),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node24',
      minify: true,
      sourcemap: true,
      sourcesContent: false,
      external: [LAYER_PACKAGE, `${LAYER_PACKAGE}/*`],
      nodePaths: packages.copy ? [path.join(packages.dir, 'node_modules')] : [],
      // Given here, so that esbuild reads no tsconfig.json: it would find the repository's in
      // source and none in a copy, and the bundles would differ by build path. The sources are
      // ES modules, strict code: the CommonJS bundle says so once, at its top.
      tsconfigRaw: {},
      banner: { js: '"use strict";' },
      logLevel: 'warning',
    });
    relocateSourceMap(path.join(path.resolve(artifacts), 'index.js.map'), functionDir);
  } finally {
    if (packages.copy) rmSync(packages.dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`functions: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
