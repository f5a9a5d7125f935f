#!/usr/bin/env node
// The local runtime's command line (src/cli/start.ts): TypeScript, run by this Node.js with
// tsx's loader, found from this package wherever the command is run from. The command line
// itself starts again on the Node.js major of the template's functions when this one differs.
import { spawn } from 'node:child_process';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const loader = import.meta.resolve('tsx');
const start = fileURLToPath(new URL('../src/cli/start.ts', import.meta.url));
const child = spawn(process.execPath, ['--import', loader, start, ...process.argv.slice(2)], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
