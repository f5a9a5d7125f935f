/**
 * ARCHITECTURE.md stays true: every folder its table names exists, every top-level folder of
 * the project is in its table, and every service folder of local/src it names is there (and
 * the other way round). And the house stays easy to walk through: no import circles (madge),
 * no source file over 350 lines, a layer index that exports what the functions use and no more.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'chai';
import madge from 'madge';

const ROOT = join(__dirname, '..', '..');
const page = readFileSync(join(ROOT, 'ARCHITECTURE.md'), 'utf8');
/** The first cell of each table row: `folder/`. */
const tableFolders = [...page.matchAll(/^\| `([^`]+)\/` \|/gm)].map((m) => m[1] as string);
const UNTRACKED = new Set(['node_modules', 'dist']);

describe('ARCHITECTURE.md', () => {
  it('names folders that exist', () => {
    expect(tableFolders.length).to.be.greaterThan(5);
    for (const folder of tableFolders) expect(existsSync(join(ROOT, folder)), folder).to.equal(true);
  });

  it('names every top-level folder of the project', () => {
    const folders = readdirSync(ROOT, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && !UNTRACKED.has(entry.name))
      .map((entry) => entry.name);
    expect(folders.filter((name) => !tableFolders.includes(name))).to.deep.equal([]);
  });

  /** The `folder/` names in a table row, less those that are not subfolders of `src/`. */
  const namedIn = (rowStart: string, others: string[]): string[] => {
    const row = page.split('\n').find((line) => line.startsWith(rowStart)) ?? '';
    return [...row.matchAll(/`([a-z-]+)\/`/g)].map((m) => m[1] as string).filter((name) => !others.includes(name));
  };
  const foldersOf = (path: string): string[] =>
    readdirSync(join(ROOT, path), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);

  it('names each service folder of local/src, and only those there are', () => {
    const named = namedIn('| `local/`', ['local', 'src', 'test', 'fixtures']);
    expect([...new Set(named)].sort()).to.deep.equal(foldersOf('local/src').sort());
  });

  it("names each folder of the benchmark's package (bench/src), and only those there are", () => {
    const named = namedIn('| `bench/`', ['bench', 'src']);
    expect(named.length, 'folders named in the bench/ row').to.be.greaterThan(2);
    expect([...named].sort()).to.deep.equal(foldersOf('bench/src').sort());
    const manifest = JSON.parse(readFileSync(join(ROOT, 'bench', 'package.json'), 'utf8')) as { name: string };
    expect(page, 'the bench/ row names its package').to.include(`\`${manifest.name}\``);
  });

  it("keeps local/src's root to its entry and its composition, and the port's registry knowing no service", () => {
    const loose = readdirSync(join(ROOT, 'local', 'src'), { withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => entry.name);
    expect(loose.sort()).to.deep.equal(['index.ts', 'runtime.ts']);
    const registry = readFileSync(join(ROOT, 'local/src/front-door/registry.ts'), 'utf8');
    const imports = [...registry.matchAll(/^import[^;]*?from '([^']+)'/gms)].map((m) => m[1] as string);
    expect(imports.length, 'imports read').to.be.greaterThan(1);
    expect(imports.filter((path) => !/^(node:|\.\.\/core\/|\.\/doors\.js$)/.test(path))).to.deep.equal([]);
  });

  /** The code that runs: the functions and their layer, the local runtime, the page and its tools, the other tools. */
  const SOURCES = ['functions', 'layers/chat-core/src', 'local/src', 'web/src', 'web/tools', 'scripts', 'bench/src'];
  const MAX_LINES = 350;

  it('has no import circles in the code that runs, type imports included', async function () {
    this.timeout(30_000);
    const graph = await madge(
      SOURCES.map((folder) => join(ROOT, folder)),
      { fileExtensions: ['ts'], tsConfig: join(ROOT, 'tsconfig.json') },
    );
    expect(Object.keys(graph.obj()).length, 'files madge read').to.be.greaterThan(100);
    expect(graph.circular()).to.deep.equal([]);
  });

  it(`has no source file over ${MAX_LINES} lines`, () => {
    const long = SOURCES.flatMap((folder) =>
      (readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' }) as string[])
        .filter((file) => /\.(ts|mts|mjs)$/.test(file) && !file.split(/[\\/]/).includes('node_modules'))
        .map((file) => join(ROOT, folder, file))
        .map((path) => ({ path: relative(ROOT, path), lines: readFileSync(path, 'utf8').split('\n').length - 1 }))
        .filter(({ lines }) => lines > MAX_LINES),
    );
    expect(long).to.deep.equal([]);
  });

  it("exports from the layer's index only what the functions and the benchmark import from it (and the benchmark drives)", () => {
    const names = (list: string): string[] =>
      list
        .split(',')
        .map(
          (item) =>
            item
              .trim()
              .replace(/^type\s+/, '')
              .split(/\s+as\s+/)[0] as string,
        )
        .filter(Boolean);
    const index = readFileSync(join(ROOT, 'layers/chat-core/src/index.ts'), 'utf8');
    const exported = [...index.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)].flatMap((m) => names(m[1] as string));
    const importsIn = (folder: string): string[] =>
      (readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' }) as string[])
        .filter((file) => file.endsWith('.ts') && !file.split(/[\\/]/).includes('node_modules'))
        .flatMap((file) => [
          ...readFileSync(join(ROOT, folder, file), 'utf8').matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'chat-core'/g),
        ])
        .flatMap((m) => names(m[1] as string));
    const imported = new Set([...importsIn('functions'), ...importsIn('bench/src')]);
    expect(exported.length, 'names the index exports').to.be.greaterThan(30);
    // The benchmark drives the built layer's fan-out (bench/src/floors/poster-worker.ts's Layer).
    for (const name of ['broadcast', 'roomConnections']) imported.add(name);
    expect(exported.filter((name) => !imported.has(name))).to.deep.equal([]);
  });
});
