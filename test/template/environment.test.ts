/**
 * Each function is given the environment variables it uses, and only those. Found by running
 * it, not by a list: each function is imported in a fresh process with exactly its variables
 * from template.yaml (resolved as the local runtime resolves them) and invoked on its sample
 * event (function-probe.ts). With all of them it must work; without any one of its own
 * variables it must behave differently (chat-core names a variable read but not given), or
 * the variable is one it does not use. Globals carry only what every function shares.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadTemplate as loadModel, type FunctionModel } from '../../local/src/template/template';
import type { ProbeResult } from './function-probe';
import { CONDITIONAL_FUNCTION_PARAMETERS, ROOT, TEMPLATE_PATH, describeApp, loadTemplate, output, run } from './helpers';

/** Rooms of SMALL others are served directly, LARGE ones through the queue (or without presence). */
const SMALL = 2;
const LARGE = SMALL + 3;
/** Two sandboxes at a time: each is a Node.js process loading the SDK. */
const PARALLEL = 2;

const PROBE = path.join(ROOT, 'test', 'template', 'function-probe.ts');
/** What Lambda itself sets, and the local wiring (Powertools without X-Ray), as local/src/lambda/lambda-env.ts does. */
const SANDBOX = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'probe', AWS_SECRET_ACCESS_KEY: 'probe', POWERTOOLS_DEV: 'true' };

async function probe(fn: FunctionModel, event: string, variables: Record<string, string>): Promise<ProbeResult> {
  const result = path.join(mkdtempSync(path.join(tmpdir(), 'chat-probe-')), 'result.json');
  const args = ['--import', 'tsx', PROBE, fn.codeUri, event, String(SMALL), String(LARGE), result];
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...variables, ...SANDBOX };
  const done = await run(process.execPath, args, { env });
  expect(done.code, `${fn.logicalId}: ${output(done)}`).to.equal(0);
  return JSON.parse(readFileSync(result, 'utf8')) as ProbeResult;
}

/** Runs `work` on every item, at most `limit` at a time, results in order. */
async function limited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) results[i] = await work(items[i] as T);
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

const threw = (result: ProbeResult): string[] =>
  Object.values(result).flatMap((outcome) => (outcome.result.startsWith('threw ') ? [outcome.result] : []));

describe("each function's environment (template.yaml)", function () {
  this.timeout(300_000);
  const app = describeApp(loadTemplate());
  const globals = Object.keys(
    (app.template.Globals?.Function?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {},
  );

  for (const { logicalId, codeUri } of app.functions) {
    it(`${logicalId} uses every variable it is given, and works with only those`, async () => {
      const conditional = app.template.Resources[logicalId]?.Condition ? CONDITIONAL_FUNCTION_PARAMETERS : {};
      const model = await loadModel(TEMPLATE_PATH, { parameterOverrides: conditional });
      const fn = model.functions.get(logicalId) as FunctionModel;
      if (fn.environment.FANOUT_THRESHOLD !== undefined) fn.environment.FANOUT_THRESHOLD = String(SMALL);
      // Its sample events: events/<folder>.json, and events/<folder>-*.json for its other callers
      // (connect-chat-v1.json; moderate-backend.json, the backend API's).
      const folder = path.basename(codeUri);
      const main = path.join(ROOT, 'events', `${folder}.json`);
      expect(existsSync(main), `${main}: the function's sample event`).to.equal(true);
      const events = [
        main,
        ...readdirSync(path.join(ROOT, 'events'))
          .filter((file) => file.startsWith(`${folder}-`) && file.endsWith('.json'))
          .map((file) => path.join(ROOT, 'events', file)),
      ];
      const own = Object.keys(fn.environment).filter((name) => !globals.includes(name));
      expect(own, `${logicalId} has variables of its own`).not.to.be.empty;

      const without = (name?: string): Record<string, string> =>
        Object.fromEntries(Object.entries(fn.environment).filter(([key]) => key !== name));
      const probeAll = async (name?: string): Promise<ProbeResult[]> => {
        const results: ProbeResult[] = [];
        for (const event of events) results.push(await probe(fn, event, without(name)));
        return results;
      };
      const [all, ...missing] = await limited([undefined, ...own], PARALLEL, probeAll);

      expect(all!.flatMap(threw), `${logicalId} with its template variables`).to.deep.equal([]);
      own.forEach((name, i) => {
        const results = missing[i]!;
        expect(results, `${logicalId} without ${name} behaves as with it on every sample event: it does not use ${name}`).not.to.deep.equal(
          all,
        );
        for (const error of results.flatMap(threw)) expect(error, `${logicalId} without ${name}`).to.include(name);
      });
    });
  }
});
