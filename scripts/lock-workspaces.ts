/**
 * Writes the package-lock.json of each npm workspace (layers/chat-core/package-lock.json), from
 * the root's package-lock.json.
 *
 * A layer's folder must build alone (`sam build --no-build-in-source`, `sam sync`,
 * `sam build --use-container` copy it without the rest of the repository), so it carries its own
 * lockfile. That lockfile starts as a copy of the root's, and npm prunes it to what the
 * workspace's package.json needs: every package it keeps is then at the version the root's
 * `npm ci` installs, the one the tests and the local runtime ran with. The root's `npm ci`
 * ignores the workspaces' lockfiles.
 *
 *   npm run lock:workspaces     after `npm install` changed the root's package-lock.json
 *
 * test/unit/packages.test.ts fails when a workspace's lockfile is missing or out of date.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function workspaces(): string[] {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { workspaces?: string[] };
  const list = manifest.workspaces ?? [];
  const glob = list.find((entry) => /[*?{[]/.test(entry));
  if (glob) throw new Error(`package.json workspaces: ${glob} is a pattern; list each workspace's folder`);
  return list;
}

function lock(workspace: string): void {
  const dir = path.join(ROOT, workspace);
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'lock-workspace-'));
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
    console.log(`${workspace}/package-lock.json written`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

for (const workspace of workspaces()) lock(workspace);
