/**
 * The folders SAM builds on their own, each with its own package.json and package-lock.json:
 * every layer (an npm workspace of the root), and functions/, which every function is built from
 * (its ProjectRootDirectory: functions/Makefile and build.mjs bundle each route's folder). Out of
 * source (`sam build --no-build-in-source`, `sam sync`, `sam build --use-container`), SAM copies
 * such a folder without the rest of the repository; its build installs its packages there from
 * its lockfile.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function subfolders(parent: string): string[] {
  const dir = path.join(ROOT, parent);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => `${parent}/${entry.name}`)
    .sort();
}

/** `layers/chat-core`, ... and `functions` (relative to the repository, `/`-separated). */
export function buildFolders(): { layers: string[]; functions: string[] } {
  return { layers: subfolders('layers'), functions: existsSync(path.join(ROOT, 'functions', 'package.json')) ? ['functions'] : [] };
}

/** The route functions' folders: `functions/connect`, ... */
export function functionFolders(): string[] {
  return subfolders('functions');
}
