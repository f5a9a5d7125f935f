/**
 * The workflows people run against AWS, rehearsed without it, with SAM CLI's own code:
 *
 * - `sam build` of two copies of the project at different paths gives the same artifacts, byte
 *   for byte, so a deploy of unchanged code changes nothing;
 * - a change set between two builds (what `sam deploy` would upload and change): the packaged
 *   templates, each artifact named by the S3 key `sam package` gives it (the MD5 of its files),
 *   differ in exactly the function whose code changed;
 * - `sam local invoke <Function> --env-vars events/env.json`: the environment SAM CLI computes for
 *   each function (scripts and events/env.json filled from a stack's outputs, as the README says)
 *   lets every built function load, and the placeholders or no env.json at all stop it at init
 *   with the variable's name and what to do.
 *
 * The copies hold what git tracks (and new files not ignored), built as a clone would be.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { expect } from 'chai';
import { envFromStack, type StackValues } from '../../scripts/stack-env';
import { ROOT, TOOL_TIMEOUT_MS, describeApp, loadBuiltFunction, loadTemplate, output, run, type RunResult } from './helpers';

const SAM_LOCAL_ENV = path.join(ROOT, 'test', 'template', 'sam_local_env.py');
/** The function whose code the second copy changes. */
const CHANGED = { functionId: 'MembersFunction', file: 'functions/members/index.ts' };

/** Copies the project's files (git's, no node_modules or builds) to `dir`. */
function copyProject(dir: string): void {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((file) => file !== '');
  for (const file of files) {
    const from = path.join(ROOT, file);
    try {
      if (!statSync(from).isFile()) continue;
    } catch {
      continue; // deleted in the working tree, not yet in the index
    }
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    cpSync(from, path.join(dir, file));
  }
}

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as { isFile(): boolean; name: string; parentPath: string }[])
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

/** The JSON paths where two values differ. */
function differences(a: unknown, b: unknown, at = ''): string[] {
  if (isDeepStrictEqual(a, b)) return [];
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return [at];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.flatMap((key) => differences((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${at}.${key}`));
}

/** What describe-stacks would say of a stack deployed from this template, with these parameters. */
function deployedStack(parameters: Record<string, string>): StackValues {
  const api = 'https://abcdef123.execute-api.us-east-1.amazonaws.com/production';
  const auth: Record<string, string> =
    parameters.AuthMode === 'cognito'
      ? {
          TokenIssuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123',
          TokenAudience: '1h57kf5cpq17m0eml12example',
          TokenJwksUrl: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123/.well-known/jwks.json',
        }
      : {};
  return {
    parameters,
    outputs: {
      WebSocketURL: 'wss://abcdef123.execute-api.us-east-1.amazonaws.com/production',
      ConnectionsURL: `${api}/@connections`,
      ManagementApiEndpoint: api,
      ConnectionsTableName: 'chat-ConnectionsTable-1A2B3C4D5E6F',
      MessagesTableName: 'chat-MessagesTable-1A2B3C4D5E6F',
      RateLimitsTableName: 'chat-RateLimitsTable-1A2B3C4D5E6F',
      FanoutQueueURL: 'https://sqs.us-east-1.amazonaws.com/123456789012/chat-FanoutQueue-1A2B3C4D5E6F',
      ...auth,
    },
  };
}

describe('AWS workflows, rehearsed: reproducible builds, a change set, sam local invoke', function () {
  this.timeout(TOOL_TIMEOUT_MS * 2);
  const app = describeApp(loadTemplate());
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'aws-workflows-'));
  // Different depths and names: a path that leaked into an artifact would show.
  const copies = {
    first: path.join(scratch, 'a', 'chat'),
    second: path.join(scratch, 'elsewhere', 'deeper', 'project'),
    changed: path.join(scratch, 'changed'),
  };
  const built = (copy: string): string => path.join(copy, '.aws-sam', 'build');
  let builds: Record<keyof typeof copies, RunResult>;

  before(async () => {
    for (const dir of Object.values(copies)) copyProject(dir);
    appendFileSync(path.join(copies.changed, CHANGED.file), "\nexport const rehearsal = 'a change to this function only';\n");
    const results = await Promise.all(
      Object.entries(copies).map(async ([name, dir]) => [name, await run('sam', ['build'], { cwd: dir })] as const),
    );
    builds = Object.fromEntries(results) as typeof builds;
    for (const [name, result] of results) expect(result.code, `sam build in the ${name} copy\n${output(result)}`).to.equal(0);
  });

  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('builds two copies at different paths into the same artifacts, byte for byte: functions, layer, source maps, template', () => {
    const files = filesUnder(built(copies.first));
    expect(files).to.include.members(['template.yaml', 'ConnectFunction/index.js', 'ConnectFunction/index.js.map']);
    expect(filesUnder(built(copies.second))).to.deep.equal(files);
    const differ = files.filter(
      (file) => !readFileSync(path.join(built(copies.first), file)).equals(readFileSync(path.join(built(copies.second), file))),
    );
    expect(differ, 'artifacts that differ between the two copies').to.deep.equal([]);
    console.log(
      `      ${files.length} files identical (sam build ${(builds.first.ms / 1000).toFixed(1)} s, ${(builds.second.ms / 1000).toFixed(1)} s)`,
    );
  });

  it('changes exactly the changed function in the change set: its code key, nothing else (no other function, no new layer version)', async () => {
    const packaged = async (copy: string): Promise<Record<string, unknown>> => {
      const out = path.join(copy, 'packaged.json');
      const result = await run('python3', [
        path.join(ROOT, 'scripts', 'generate-template.py'),
        '--template',
        path.join(built(copy), 'template.yaml'),
        '--output',
        out,
        '--content-keys',
      ]);
      expect(result.code, output(result)).to.equal(0);
      return JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
    };
    const [first, second, changed] = await Promise.all([packaged(copies.first), packaged(copies.second), packaged(copies.changed)]);

    expect(differences(first, second), 'unchanged code: the change set is empty').to.deep.equal([]);
    expect(differences(first, changed)).to.deep.equal([`.Resources.${CHANGED.functionId}.Properties.Code.S3Key`]);
  });

  describe('sam local invoke --env-vars events/env.json (the environment SAM CLI computes)', () => {
    const samEnvironment = async (
      envFile: string,
      parameters: Record<string, string> = {},
    ): Promise<Record<string, Record<string, string>>> => {
      const overrides = Object.entries(parameters).map(([name, value]) => `${name}=${value}`);
      // SAM gives a variable set in the shell that value too: a shell of the tests' own would mask the template's.
      const shell = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', AWS_DEFAULT_REGION: 'us-east-1', SAM_CLI_TELEMETRY: '0' };
      const result = await run('python3', [SAM_LOCAL_ENV, path.join(built(copies.first), 'template.yaml'), envFile, ...overrides], {
        env: shell,
      });
      expect(result.code, output(result)).to.equal(0);
      return JSON.parse(result.stdout) as Record<string, Record<string, string>>;
    };
    const load = (functionId: string, env: Record<string, string>) =>
      loadBuiltFunction({
        buildDir: built(copies.first),
        layerIds: app.layers.map((layer) => layer.logicalId),
        functionId,
        handler: env.AWS_LAMBDA_FUNCTION_HANDLER ?? 'index.handler',
        env,
      });

    for (const authMode of ['none', 'cognito']) {
      it(`loads every function with env.json filled from the outputs of a stack with AuthMode ${authMode}`, async () => {
        const envFile = path.join(scratch, `env-${authMode}.json`);
        const parameters: Record<string, string> = authMode === 'none' ? {} : { AuthMode: authMode };
        writeFileSync(envFile, JSON.stringify(envFromStack(loadTemplate() as never, deployedStack(parameters))));
        // sam local invoke runs with the template's defaults unless told: env.json carries the stack's
        // values, --parameter-overrides the stack's parameters (the authorizer exists only under
        // AuthMode cognito or oidc, and SAM CLI, expanding the template's language extensions with
        // its conditions, gives it its variables only then).
        const environments = await samEnvironment(envFile, parameters);

        expect(Object.keys(environments).sort()).to.deep.equal(app.functions.map((fn) => fn.logicalId).sort());
        expect(environments.ConnectFunction?.FANOUT_QUEUE_URL).to.match(/^https:\/\/sqs\./);
        expect(environments.SendMessageFunction?.CONNECTIONS_URL).to.equal(
          'https://abcdef123.execute-api.us-east-1.amazonaws.com/production',
        );
        expect(environments.AuthorizerFunction?.AUTH_MODE).to.equal(authMode === 'none' ? undefined : authMode);
        for (const [functionId, env] of Object.entries(environments)) {
          if (functionId === 'AuthorizerFunction' && authMode === 'none') continue; // not in such a stack
          const loaded = await load(functionId, env);
          expect(loaded.code, `${functionId} under sam local invoke's environment:\n${loaded.stderr}`).to.equal(0);
        }
      });
    }

    it('stops each function that needs the stack at init, naming the variable and npm run fill-env, with the shipped placeholders or without env.json', async () => {
      for (const envFile of [path.join(copies.first, 'events', 'env.json'), '-']) {
        const environments = await samEnvironment(envFile);
        for (const [functionId, env] of Object.entries(environments)) {
          const loaded = await load(functionId, env);
          // Under the default AuthMode none the stack has no authorizer, and SAM CLI gives it no variables.
          if (functionId === 'AuthorizerFunction') continue;
          expect(loaded.code, `${functionId} with ${envFile}`).to.not.equal(0);
          expect(loaded.stderr, functionId).to.match(/invalid environment \((FANOUT_QUEUE_URL|CONNECTIONS_URL) is "/);
          expect(loaded.stderr, functionId).to.include('fill it from the stack with npm run fill-env');
        }
      }
    });
  });
});
