/**
 * samconfig.toml: a development (`default`) and a production (`prod`) environment that the SAM
 * CLI reads, `sam sync` building the way `sam build` does, production parameter overrides that
 * the template accepts, and no section for a command that has nothing to do here.
 */
import { expect } from 'chai';
import { TOOL_TIMEOUT_MS, loadTemplate, output, run } from './helpers';

type Parameters = Record<string, unknown>;
/** environment -> command -> { parameters } */
type SamConfig = Record<string, Record<string, { parameters?: Parameters }>>;

/** The commands this project configures. `local_start_api` is not one: it serves no WebSocket API. */
const COMMANDS = ['global', 'build', 'validate', 'deploy', 'sync', 'delete', 'local_invoke'];

function parameters(config: SamConfig, env: string, command: string): Parameters {
  return config[env]?.[command]?.parameters ?? {};
}

/** `"A=1 B=two"` -> { A: "1", B: "two" } (the form samconfig.toml writes). */
function overrides(value: unknown): Record<string, string> {
  return Object.fromEntries(
    String(value ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
}

describe('samconfig.toml', function () {
  this.timeout(TOOL_TIMEOUT_MS);
  let config: SamConfig;

  before(async () => {
    // Python's TOML reader (3.11+, the SAM CLI's virtualenv has it): what the SAM CLI parses.
    const read = await run('python3', ['-c', "import json, tomllib; print(json.dumps(tomllib.load(open('samconfig.toml', 'rb'))))"]);
    expect(read.code, output(read)).to.equal(0);
    config = JSON.parse(read.stdout) as SamConfig;
    delete config.version; // the file format's, not an environment
  });

  it('has a default and a prod environment, each with its own stack', () => {
    expect(Object.keys(config)).to.have.members(['default', 'prod']);
    const stacks = Object.keys(config).map((env) => parameters(config, env, 'global').stack_name);
    expect(
      stacks.every((stack) => typeof stack === 'string' && stack.length > 0),
      String(stacks),
    ).to.equal(true);
    expect(new Set(stacks).size).to.equal(stacks.length);
  });

  it('configures only commands this project uses', () => {
    for (const [env, commands] of Object.entries(config)) {
      expect(
        Object.keys(commands).filter((command) => !COMMANDS.includes(command)),
        env,
      ).to.deep.equal([]);
    }
  });

  it('builds for `sam sync` as for `sam build` (sync reads its own section), and has no sync for prod', () => {
    const build = parameters(config, 'default', 'build');
    const sync = parameters(config, 'default', 'sync');
    expect(sync.build_in_source).to.equal(build.build_in_source);
    expect(config.prod?.sync).to.equal(undefined);
  });

  it('asks before a prod deploy unless told not to (--no-confirm-changeset)', () => {
    expect(parameters(config, 'prod', 'deploy').confirm_changeset).to.equal(true);
  });

  it('overrides only parameters the template declares, with values it allows', () => {
    const declared = loadTemplate().Parameters ?? {};
    for (const env of Object.keys(config)) {
      for (const command of ['deploy', 'sync']) {
        for (const [name, value] of Object.entries(overrides(parameters(config, env, command).parameter_overrides))) {
          const parameter = declared[name];
          expect(parameter, `${env}.${command}: ${name} is no template parameter`).to.not.equal(undefined);
          const allowed = parameter?.AllowedValues as unknown[] | undefined;
          if (allowed) expect(allowed.map(String), `${env}.${command}: ${name}=${value}`).to.include(value);
        }
      }
    }
    expect(Object.keys(overrides(parameters(config, 'prod', 'deploy').parameter_overrides))).to.include('LogLevel');
  });

  for (const env of ['default', 'prod']) {
    it(`is read by \`sam validate --config-env ${env}\``, async () => {
      const result = await run('sam', ['validate', '--config-env', env, '--debug']);
      expect(result.code, output(result)).to.equal(0);
      const stack = String(parameters(config, env, 'global').stack_name);
      expect(result.stdout + result.stderr, output(result)).to.include(`'stack_name': '${stack}'`);
    });
  }
});
