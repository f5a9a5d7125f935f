/**
 * Writes the package-lock.json of every folder SAM builds on its own (layers/chat-core and
 * functions/<route>, see build-folders.ts), from the root's package-lock.json.
 *
 * Each lockfile starts as a copy of the root's, and npm prunes it to what the folder's
 * package.json needs: every package it keeps is then at the version, and with the integrity,
 * that the root's `npm ci` installs, the one the tests and the local runtime ran with. A package
 * the root does not have is resolved from the registry (test/unit/packages.test.ts then fails
 * until the root has it too). The root's `npm ci` ignores these lockfiles.
 *
 *   npm run lock:build-folders     after `npm install` changed the root's package-lock.json
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, buildFolders } from './build-folders';

function lock(folder: string): void {
  const dir = path.join(ROOT, folder);
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'lock-build-folder-'));
  try {
    copyFileSync(path.join(dir, 'package.json'), path.join(scratch, 'package.json'));
    copyFileSync(path.join(ROOT, 'package-lock.json'), path.join(scratch, 'package-lock.json'));
    // --prefix: the scratch folder is the project (no workspace root above it).
    execFileSync(
      'npm',
      ['install', '--package-lock-only', '--prefix', scratch, '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
      { stdio: 'inherit' },
    );
    copyFileSync(path.join(scratch, 'package-lock.json'), path.join(dir, 'package-lock.json'));
    console.log(`${folder}/package-lock.json written`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const { layers, functions } = buildFolders();
for (const folder of [...layers, ...functions]) lock(folder);
