/**
 * ARCHITECTURE.md stays true: every folder its table names exists, every top-level folder of
 * the project is in its table, and every service folder of local/src it names is there (and
 * the other way round).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';

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

  it('names each service folder of local/src, and only those there are', () => {
    const row = page.split('\n').find((line) => line.startsWith('| `local/`')) ?? '';
    const named = [...row.matchAll(/`([a-z-]+)\/`/g)]
      .map((m) => m[1] as string)
      .filter((name) => !['local', 'src', 'test', 'fixtures'].includes(name));
    const onDisk = readdirSync(join(ROOT, 'local', 'src'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
    expect([...named].sort()).to.deep.equal([...onDisk].sort());
  });
});
