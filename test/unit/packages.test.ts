/**
 * The packages each folder SAM builds is made from, and one version of each.
 *
 * SAM builds layers/chat-core, and every function from functions/, from a copy of the folder alone
 * (`sam build`, `sam sync`, `sam build --use-container`), where its build installs the folder's own
 * package.json from its own package-lock.json. The tests and the local runtime use the root's
 * `npm ci` instead (the layer is an npm workspace of the root). Both must be the same packages at
 * the same versions: otherwise what is deployed is not what was tested, and a package the root
 * and the layer pinned at two versions would be installed twice, so that the tests' SDK mocks
 * (set on the root's copy) would miss the layer's clients.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { build } from 'esbuild';
import { ROOT, buildFolders, functionFolders } from '../../scripts/build-folders';

interface Manifest {
  name: string;
  main?: string;
  workspaces?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

interface LockEntry {
  version?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

interface Lockfile {
  name: string;
  packages: Record<string, LockEntry>;
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as T;
}

/** Every declared dependency, whatever its kind. */
function declared(manifest: Manifest): Record<string, string> {
  return { ...manifest.dependencies, ...manifest.devDependencies, ...manifest.optionalDependencies };
}

/** `node_modules/a/node_modules/@b/c` -> `@b/c`. */
function packageName(lockPath: string): string {
  return lockPath.slice(lockPath.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

/** Every installed package of a lockfile by `name@version` (the root entry and links aside). */
function installed(lock: Lockfile): Map<string, LockEntry> {
  const entries = new Map<string, LockEntry>();
  for (const [where, entry] of Object.entries(lock.packages)) {
    if (!where.startsWith('node_modules/') || entry.link) continue;
    entries.set(`${packageName(where)}@${entry.version}`, entry);
  }
  return entries;
}

/** The bare module names some sources load at run time (type-only imports are erased). */
async function runtimeImports(folder: string, entryPoint: string): Promise<string[]> {
  const result = await build({
    absWorkingDir: path.join(ROOT, folder),
    entryPoints: [entryPoint],
    bundle: true,
    packages: 'external',
    platform: 'node',
    metafile: true,
    write: false,
    outdir: 'unused',
    logLevel: 'silent',
  });
  const imports = Object.values(result.metafile.inputs).flatMap((input) => input.imports);
  const names = imports
    .filter((item) => item.external && !item.path.startsWith('node:'))
    .map((item) =>
      item.path
        .split('/')
        .slice(0, item.path.startsWith('@') ? 2 : 1)
        .join('/'),
    );
  return [...new Set(names)].sort();
}

const rootManifest = readJson<Manifest>('package.json');
const rootLock = readJson<Lockfile>('package-lock.json');
const { layers, functions } = buildFolders();
const layerPackages = layers.map((layer) => readJson<Manifest>(`${layer}/package.json`).name);

describe('packages: one version of each, in the root and in every folder SAM builds', () => {
  it('finds the layer and the functions', () => {
    // Assess
    expect(layers).to.include('layers/chat-core');
    expect(functions).to.deep.equal(['functions']);
    expect(functionFolders()).to.include.members([
      'functions/connect',
      'functions/disconnect',
      'functions/sendmessage',
      'functions/default',
    ]);
  });

  it('has every layer, the local runtime and the benchmark, and not functions/, as npm workspaces of the root', () => {
    // Assess: functions/ only names what its build installs; the functions import the layer's package through the root's workspace.
    expect(rootManifest.workspaces ?? []).to.have.members([...layers, 'local', 'bench']);
  });

  for (const [folder, what] of [
    ['local', 'the local runtime'],
    ['bench', 'the benchmark'],
  ] as const) {
    it(`pins the dependencies of ${what} (${folder}/) at the root's versions`, () => {
      // Arrange
      const manifest = readJson<Manifest>(`${folder}/package.json`);
      const root = declared(rootManifest);

      // Act
      const differing = Object.entries(declared(manifest)).filter(([name, version]) => root[name] !== undefined && root[name] !== version);

      // Assess
      expect(
        Object.values(declared(manifest)).every((version) => /^\d+\.\d+\.\d+$/.test(version)),
        'exact versions',
      ).to.equal(true);
      expect(differing).to.deep.equal([]);
    });
  }

  it("declares as the benchmark's dependencies exactly the packages it loads at run time, and the layer for its types only", async () => {
    // Prepare: its entry, and the poster worker it bundles and starts on its own (floors/poster.ts).
    const manifest = readJson<Manifest>('bench/package.json');
    const entry = rootLock.packages.bench;

    // Act
    const loaded = [
      ...new Set([...(await runtimeImports('bench', 'src/run.ts')), ...(await runtimeImports('bench', 'src/floors/poster-worker.ts'))]),
    ];

    // Assess: tsx runs it (and the memory scenario's child process); chat-core is a devDependency, its types only.
    expect(loaded.sort()).to.deep.equal(Object.keys(manifest.dependencies ?? {}).sort());
    expect(loaded).to.include.members(['sam-websocket-local', 'tsx']);
    expect(loaded).to.not.include('chat-core');
    expect(manifest.devDependencies).to.have.property('chat-core');
    expect(entry?.dependencies ?? {}, "bench in the root's package-lock.json").to.deep.equal(manifest.dependencies ?? {});
    expect(entry?.devDependencies ?? {}).to.deep.equal(manifest.devDependencies ?? {});
  });

  it('package.json pins every dependency to an exact version', () => {
    // Act
    const ranges = Object.entries(declared(rootManifest)).filter(([, version]) => !/^\d+\.\d+\.\d+$/.test(version));

    // Assess
    expect(ranges, 'not an exact version').to.deep.equal([]);
  });

  for (const folder of [...layers, ...functions]) {
    describe(folder, () => {
      let manifest: Manifest;
      let lock: Lockfile;

      before(() => {
        for (const file of ['package.json', 'package-lock.json']) {
          expect(existsSync(path.join(ROOT, folder, file)), `${folder}/${file} (SAM installs from it)`).to.equal(true);
        }
        manifest = readJson<Manifest>(`${folder}/package.json`);
        lock = readJson<Lockfile>(`${folder}/package-lock.json`);
      });

      it("pins every dependency to an exact version, the root's where the root has the package too", () => {
        // Prepare
        const root = declared(rootManifest);

        // Act
        const ranges = Object.entries(declared(manifest)).filter(([, version]) => !/^\d+\.\d+\.\d+$/.test(version));
        const drift = Object.entries(declared(manifest))
          .filter(([name, version]) => root[name] !== undefined && root[name] !== version)
          .map(([name, version]) => `${name}: ${folder} ${version}, root ${root[name]}`);

        // Assess
        expect(ranges, 'not an exact version').to.deep.equal([]);
        expect(drift).to.deep.equal([]);
      });

      it('has a package-lock.json that matches its package.json (what an install in a copy of the folder needs)', () => {
        // Prepare
        const top = lock.packages[''];

        // Assess
        expect(lock.name).to.equal(manifest.name);
        expect(top?.dependencies ?? {}).to.deep.equal(manifest.dependencies ?? {});
        expect(top?.devDependencies ?? {}).to.deep.equal(manifest.devDependencies ?? {});
        for (const [name, version] of Object.entries(declared(manifest))) {
          expect(lock.packages[`node_modules/${name}`]?.version, `${name} in ${folder}/package-lock.json`).to.equal(version);
        }
      });

      it("locks every package, transitive ones too, at a version and integrity of the root's lockfile (npm run lock:build-folders)", () => {
        // Prepare
        const rootPackages = installed(rootLock);

        // Act
        const unknown = [...installed(lock)]
          .filter(([key, entry]) => rootPackages.get(key)?.integrity !== entry.integrity)
          .map(([key]) => key);

        // Assess
        expect(installed(lock).size).to.be.greaterThan(0);
        expect(unknown, "not in the root's package-lock.json").to.deep.equal([]);
      });
    });
  }

  for (const layer of layers) {
    describe(`${layer}, a workspace`, () => {
      it("is in the root's package-lock.json as its package.json declares it (what the root's `npm ci` needs)", () => {
        // Prepare
        const manifest = readJson<Manifest>(`${layer}/package.json`);
        const entry = rootLock.packages[layer];

        // Assess
        expect(entry, `${layer} in package-lock.json`).to.not.equal(undefined);
        expect(entry?.dependencies ?? {}).to.deep.equal(manifest.dependencies ?? {});
        expect(entry?.devDependencies ?? {}).to.deep.equal(manifest.devDependencies ?? {});
      });

      it('declares as dependencies exactly the packages its sources load at run time, and esbuild to bundle them', async () => {
        // Prepare
        const manifest = readJson<Manifest>(`${layer}/package.json`);

        // Act
        const loaded = await runtimeImports(layer, manifest.main ?? 'index.js');

        // Assess
        expect(loaded).to.deep.equal(Object.keys(manifest.dependencies ?? {}).sort());
        expect(Object.keys(manifest.devDependencies ?? {})).to.deep.equal(['esbuild']);
      });
    });
  }

  for (const folder of functions) {
    describe(`${folder}, the functions' build`, () => {
      it("declares esbuild and exactly the packages the functions bundle: those their sources load besides the layers'", async () => {
        // Prepare
        const manifest = readJson<Manifest>(`${folder}/package.json`);

        // Act
        const loaded = await Promise.all(functionFolders().map((fn) => runtimeImports(fn, 'index.ts')));
        const bundled = [...new Set(loaded.flat())].filter((name) => !layerPackages.includes(name));

        // Assess
        expect(Object.keys(manifest.devDependencies ?? {}).sort()).to.deep.equal(['esbuild', ...bundled].sort());
        expect(manifest.devDependencies?.esbuild).to.equal(declared(rootManifest).esbuild);
        expect(manifest.dependencies ?? {}).to.deep.equal({});
      });
    });
  }
});
