// Bundles the chat-core layer into <artifacts>/nodejs/node_modules/chat-core, where Lambda
// resolves it (/opt/nodejs/node_modules). `sam build` runs it through the Makefile
// (BuildMethod: makefile) in whatever folder it builds the layer from:
//
// - out of source (`sam build` as samconfig.toml sets it, `sam sync`,
//   `sam build --use-container`), a copy of this folder alone, where nothing is installed;
// - in source (`sam build --build-in-source`, and `npm start`, which runs the same make
//   target), this folder inside the npm workspace, where the root's `npm ci` has installed
//   the packages.
//
// Installed packages are used only when every package that package.json names resolves from
// this folder at the version package-lock.json pins. Otherwise the sources, package.json and package-lock.json
// are copied to a temporary folder, `npm ci` installs exactly the locked packages there, and
// the bundle is made from that copy. Either way nothing is written into the folder the build
// runs in, and the bundle is made of the same packages.
//
// Plain JavaScript for any Node.js from 20 (a machine's own `node` runs `sam build`; the SAM
// build image of nodejs24.x has 24). Usage: node build.mjs <artifacts directory>
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const LAYER_DIR = path.dirname(fileURLToPath(import.meta.url));
/** What the bundle is made from, besides the installed packages. */
const SOURCES = ['package.json', 'package-lock.json', 'src'];
/**
 * The package's entry points, as the built package.json exports them: `chat-core`, which
 * every route function loads, and `chat-core/identity`, dependency-free, which the
 * authorizer loads alone on every connect instead of the whole layer and its SDK clients.
 */
const ENTRY_POINTS = { '.': 'index', './identity': 'identity' };
/** Each entry point's source in src/. */
const SOURCES_OF = { index: 'index.ts', identity: 'identity/identity.ts' };

/**
 * The SDK's credential providers past the environment's, which its default chain imports only
 * when the environment has no credentials (never on Lambda, which sets them): each is a bundle of
 * its own beside index.js (`credentials/<name>.js`), loaded on that first use, so that a cold
 * start compiles about a fifth less of the layer. Node.js imports them relative to the bundle.
 */
const LAZY_PROVIDERS = {
  '@aws-sdk/credential-provider-http': 'http',
  '@aws-sdk/credential-provider-ini': 'ini',
  '@aws-sdk/credential-provider-process': 'process',
  '@aws-sdk/credential-provider-sso': 'sso',
  '@aws-sdk/credential-provider-web-identity': 'web-identity',
  '@smithy/credential-provider-imds': 'imds',
};

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** On stdout, which `sam build` shows (it keeps make's stderr for when the build fails). */
function log(line) {
  process.stdout.write(`chat-core: ${line}\n`);
}

/** The version of `name` that Node.js (and esbuild) resolve from `dir`, or undefined. */
function resolvedVersion(name, dir) {
  for (let current = dir; ; current = path.dirname(current)) {
    const manifest = path.join(current, 'node_modules', name, 'package.json');
    if (existsSync(manifest)) return readJson(manifest).version;
    if (path.dirname(current) === current) return undefined;
  }
}

/** The packages of package.json that do not resolve from `dir` at their locked version. */
function unresolved(dir) {
  const manifest = readJson(path.join(dir, 'package.json'));
  const lock = readJson(path.join(dir, 'package-lock.json'));
  const names = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies });
  return names.filter((name) => {
    const locked = lock.packages?.[`node_modules/${name}`]?.version;
    const found = resolvedVersion(name, dir);
    return locked === undefined || found !== locked;
  });
}

/** A copy of the layer's sources with the locked packages installed beside them. */
function installedCopy() {
  const copy = mkdtempSync(path.join(os.tmpdir(), 'chat-core-build-'));
  for (const entry of SOURCES) cpSync(path.join(LAYER_DIR, entry), path.join(copy, entry), { recursive: true });
  // --prefix keeps npm from looking for a workspace root above the copy; --include=dev
  // because esbuild is a devDependency, whatever NODE_ENV says.
  execFileSync('npm', ['ci', '--prefix', copy, '--include=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return copy;
}

/**
 * Source map paths relative to the package folder (`src/delivery/broadcast.ts`,
 * `node_modules/zod/...`) wherever the bundle was built, so that every build path gives the
 * same map and stack traces on Lambda name /opt/nodejs/node_modules/chat-core/src/....
 * Packages found in the workspace's node_modules (`../../node_modules/zod/...`) are named as
 * an install beside the sources names them.
 */
function relocateSourceMap(mapFile, builtFrom) {
  const map = readJson(mapFile);
  const outDir = path.dirname(mapFile);
  map.sources = map.sources.map((source) => {
    const relative = path.relative(builtFrom, path.resolve(outDir, source)).split(path.sep).join('/');
    const packages = relative.indexOf('node_modules/');
    return relative.startsWith('../') && packages >= 0 ? relative.slice(packages) : relative;
  });
  writeFileSync(mapFile, JSON.stringify(map));
}

/**
 * The X-Ray SDK keeps its context with cls-hooked, whose async_hooks hook runs on every promise,
 * traced or not; src/platform/xray-context.ts keeps it on AsyncLocalStorage instead, at no cost per
 * promise (docs/PERFORMANCE.md, tracing). The SDK's require('cls-hooked/context') gets it.
 */
function xrayContextOnAsyncLocalStorage(buildDir) {
  return {
    name: 'xray-context',
    setup(build) {
      build.onResolve({ filter: /^cls-hooked\/context$/ }, () => ({ path: path.join(buildDir, 'src', 'platform', 'xray-context.ts') }));
    },
  };
}

/** A provider's module, as the SDK's default chain (credential-provider-node) resolves it from where it is installed. */
function providerEntry(buildDir, pkg) {
  const chain = createRequire(path.join(buildDir, 'package.json')).resolve('@aws-sdk/credential-provider-node');
  const manifest = createRequire(chain).resolve(`${pkg}/package.json`);
  const { module, main } = readJson(manifest);
  return path.join(path.dirname(manifest), module ?? main); // its ES build where it has one, as the chain's own import takes it
}

/** The lazy providers' dynamic imports (LAZY_PROVIDERS) point at their own bundles, `credentials/<name>.js`, relative to the importer. */
function lazyProviders(fromCredentials) {
  return {
    name: 'lazy-credential-providers',
    setup(build) {
      build.onResolve({ filter: /^@(aws-sdk|smithy)\/credential-provider-/ }, (args) =>
        args.kind === 'dynamic-import' && args.path in LAZY_PROVIDERS
          ? { path: `./${fromCredentials ? '' : 'credentials/'}${LAZY_PROVIDERS[args.path]}.js`, external: true }
          : undefined,
      );
    },
  };
}

async function main() {
  const artifacts = process.argv[2];
  if (!artifacts) throw new Error('usage: node build.mjs <artifacts directory> (make build-ChatCoreLayer ARTIFACTS_DIR=...)');
  const { name, version } = readJson(path.join(LAYER_DIR, 'package.json'));
  const packageDir = path.resolve(artifacts, 'nodejs', 'node_modules', name);

  const missing = unresolved(LAYER_DIR);
  let buildDir = LAYER_DIR;
  let copy;
  if (missing.length === 0) {
    log('the installed packages match package-lock.json; bundling them');
  } else {
    log(`${missing.length} package(s) not installed at their locked version (${missing.join(', ')}); installing from package-lock.json`);
    copy = installedCopy();
    buildDir = copy;
  }

  try {
    const esbuild = createRequire(path.join(buildDir, 'package.json'))('esbuild');
    const names = Object.values(ENTRY_POINTS);
    // The SDK clients and Powertools are bundled in here, once, so that every function bundle
    // stays a few kilobytes. The source map maps stack traces (NODE_OPTIONS=--enable-source-maps)
    // without embedding the sources, a third of the size and quicker to load at a cold start.
    // Each entry point is a bundle of its own (no code splitting: one file to load).
    const common = {
      absWorkingDir: buildDir,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node24',
      minify: true,
      sourcemap: true,
      sourcesContent: false,
      mainFields: ['module', 'main'],
      // Given here, so that esbuild reads no tsconfig.json: it would take the repository's in
      // source and find none in a copy, and the bundles would differ by build path. The sources
      // are ES modules, strict code: the CommonJS bundle says so once, at its top.
      tsconfigRaw: {},
      banner: { js: '"use strict";' },
      logLevel: 'warning',
    };
    await esbuild.build({
      ...common,
      entryPoints: Object.fromEntries(names.map((entry) => [entry, path.join(buildDir, 'src', SOURCES_OF[entry])])),
      outdir: packageDir,
      plugins: [xrayContextOnAsyncLocalStorage(buildDir), lazyProviders(false)],
    });
    await esbuild.build({
      ...common,
      entryPoints: Object.fromEntries(Object.entries(LAZY_PROVIDERS).map(([pkg, file]) => [file, providerEntry(buildDir, pkg)])),
      outdir: path.join(packageDir, 'credentials'),
      plugins: [lazyProviders(true)],
    });
    for (const entry of names) relocateSourceMap(path.join(packageDir, `${entry}.js.map`), buildDir);
    for (const file of Object.values(LAZY_PROVIDERS)) relocateSourceMap(path.join(packageDir, 'credentials', `${file}.js.map`), buildDir);
    const exports = Object.fromEntries(Object.entries(ENTRY_POINTS).map(([subpath, entry]) => [subpath, `./${entry}.js`]));
    writeFileSync(path.join(packageDir, 'package.json'), `${JSON.stringify({ name, version, main: 'index.js', exports })}\n`);
  } finally {
    if (copy) rmSync(copy, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`chat-core: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
