/** The runtime's own output: one line per invocation, and notes about what it does. */
import type { InvokeOutcome } from '../lambda/lambda-pool.js';

export interface InvocationEntry {
  route: string;
  connectionId?: string;
  functionId: string;
  outcome: InvokeOutcome;
  /** What the invocation meant for the client, e.g. "200", "refused 403", "Internal server error". */
  status: string;
}

export interface RuntimeLog {
  info(message: string): void;
  warn(message: string): void;
  invocation(entry: InvocationEntry): void;
}

const clock = (): string => new Date().toISOString().slice(11, 23);

export function createLog(quiet: boolean, out: NodeJS.WritableStream = process.stdout): RuntimeLog {
  if (quiet) return { info: () => undefined, warn: () => undefined, invocation: () => undefined };
  const color = 'isTTY' in out && out.isTTY === true;
  const paint = (code: number, text: string): string => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  return {
    info: (message) => out.write(`${paint(2, clock())}  ${message}\n`),
    warn: (message) => out.write(`${paint(2, clock())}  ${paint(33, `warning: ${message}`)}\n`),
    invocation: ({ route, connectionId, functionId, outcome, status }) => {
      const failed = outcome.error !== undefined;
      const cold = outcome.initMs === undefined ? '' : paint(2, `  (cold start, init ${Math.round(outcome.initMs)} ms)`);
      const detail = failed ? paint(31, `  ${outcome.error?.errorType}: ${outcome.error?.errorMessage}`) : '';
      const fields = [
        paint(2, clock()),
        paint(36, route.padEnd(12)),
        (connectionId ?? '-').padEnd(16),
        functionId.padEnd(20),
        `${Math.round(outcome.durationMs)} ms`.padStart(7),
        paint(failed ? 31 : 32, status),
      ];
      out.write(`${fields.join('  ')}${detail}${cold}\n`);
    },
  };
}
