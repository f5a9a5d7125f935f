/**
 * The packages each part is built from, and one version of each.
 *
 * The layer's folder (an npm workspace) builds alone in SAM's out-of-source and container
 * builds, from its own package.json and package-lock.json; in source, and in the tests and the
 * local runtime, its packages come from the root's `npm ci`. Both must be the same packages at
 * the same versions: otherwise what is deployed is not what was tested, and a package the root
 * and the layer both use at two versions would be installed twice, so that the tests' SDK
 * mocks (set on the root's copy) would miss the layer's clients.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

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

/** Every installed package of a lockfile as `name@version` (the root entry and links aside). */
function installed(lock: Lockfile): Map<string, LockEntry> {
  const entries = new Map<string, LockEntry>();
  for (const [where, entry] of Object.entries(lock.packages)) {
    if (!where.startsWith('node_modules/') || entry.link) continue;
    entries.set(`${packageName(where)}@${entry.version}`, entry);
  }
  return entries;
}

/** The bare module names a workspace's sources load at run time (type-only imports are erased). */
async function runtimeImports(workspace: string, manifest: Manifest): Promise<string[]> {
  const result = await build({
    absWorkingDir: path.join(ROOT, workspace),
    entryPoints: [manifest.main ?? 'index.js'],
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
    .map((item) => item.path.split('/').slice(0, item.path.startsWith('@') ? 2 : 1).join('/'));
  return [...new Set(names)].sort();
}

const rootManifest = readJson<Manifest>('package.json');
const rootLock = readJson<Lockfile>('package-lock.json');
const workspaces = rootManifest.workspaces ?? [];

describe('packages: one version of each, in the root and in every workspace', () => {
  it('has the layer as a workspace', () => {
    // Assess
    expect(workspaces).to.include('layers/chat-core');
  });

  for (const file of ['package.json', ...workspaces.map((workspace) => `${workspace}/package.json`)]) {
    it(`${file} pins every dependency to an exact version`, () => {
      // Prepare
      const manifest = readJson<Manifest>(file);

      // Act
      const ranges = Object.entries(declared(manifest)).filter(([, version]) => !/^\d+\.\d+\.\d+$/.test(version));

      // Assess
      expect(ranges, 'not an exact version').to.deep.equal([]);
    });
  }

  for (const workspace of workspaces) {
    describe(workspace, () => {
      const manifest = readJson<Manifest>(`${workspace}/package.json`);
      const lock = readJson<Lockfile>(`${workspace}/package-lock.json`);

      it('pins the packages it shares with the root at the root\'s versions', () => {
        // Prepare
        const root = declared(rootManifest);

        // Act
        const drift = Object.entries(declared(manifest))
          .filter(([name, version]) => root[name] !== undefined && root[name] !== version)
          .map(([name, version]) => `${name}: ${workspace} ${version}, root ${root[name]}`);

        // Assess
        expect(drift).to.deep.equal([]);
      });

      it('has its own package-lock.json, matching its package.json (what `npm ci` in a copy of the folder needs)', () => {
        // Prepare
        const top = lock.packages[''];

        // Assess
        expect(lock.name).to.equal(manifest.name);
        expect(top?.dependencies ?? {}).to.deep.equal(manifest.dependencies ?? {});
        expect(top?.devDependencies ?? {}).to.deep.equal(manifest.devDependencies ?? {});
        for (const name of Object.keys(declared(manifest))) {
          expect(lock.packages[`node_modules/${name}`]?.version, `${name} in ${workspace}/package-lock.json`).to.equal(declared(manifest)[name]);
        }
      });

      it('is in the root\'s package-lock.json as its package.json declares it (what the root\'s `npm ci` needs)', () => {
        // Prepare
        const entry = rootLock.packages[workspace];

        // Assess
        expect(entry, `${workspace} in package-lock.json`).to.not.equal(undefined);
        expect(entry?.dependencies ?? {}).to.deep.equal(manifest.dependencies ?? {});
        expect(entry?.devDependencies ?? {}).to.deep.equal(manifest.devDependencies ?? {});
      });

      it('locks every package, transitive ones too, at a version and integrity the root\'s lockfile has (npm run lock:workspaces)', () => {
        // Prepare
        const rootPackages = installed(rootLock);

        // Act
        const unknown = [...installed(lock)]
          .filter(([key, entry]) => rootPackages.get(key)?.integrity !== entry.integrity)
          .map(([key]) => key);

        // Assess
        expect(installed(lock).size).to.be.greaterThan(0);
        expect(unknown, `not in the root's package-lock.json: run npm run lock:workspaces`).to.deep.equal([]);
      });

      it('declares as dependencies exactly the packages its sources load at run time', async () => {
        // Act
        const loaded = await runtimeImports(workspace, manifest);

        // Assess
        expect(loaded).to.deep.equal(Object.keys(manifest.dependencies ?? {}).sort());
      });
    });
  }
});
