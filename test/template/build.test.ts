/**
 * `sam build` succeeds on each of SAM's build paths, and its output has the shape Lambda
 * needs: the layer's package at nodejs/node_modules/<package> (Lambda mounts it at
 * /opt/nodejs/node_modules), and function bundles that contain only their own code and load the
 * layer's package at run time instead of carrying a copy of it, the SDK or Powertools.
 *
 * Two builds, run at the same time:
 * - out of source (`--no-build-in-source`, what samconfig.toml sets, and what `sam sync` and
 *   `sam build --use-container` do): SAM copies each folder (layers/chat-core, and functions/ for
 *   every function: its ProjectRootDirectory) alone, and each build installs its packages there
 *   from the folder's own lockfile;
 * - in source (`--build-in-source`): the layer and the functions bundle the packages the root's
 *   `npm ci` installed.
 * Both must give the same artifacts, byte for byte, source maps included.
 *
 * Each build goes to its own directory (same layout as `.aws-sam/build`) so that the test
 * never races a `sam build`, `sam local` or benchmark running in the same checkout.
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { build } from 'esbuild';
import {
  ROOT,
  TOOL_TIMEOUT_MS,
  describeApp,
  kib,
  loadBuiltFunction,
  loadTemplate,
  output,
  run,
  subText,
  CONDITIONAL_FUNCTION_PARAMETERS,
  type AppInfo,
  type FunctionInfo,
  type LayerInfo,
  type RunResult,
  type Template,
} from './helpers';

interface BuildPath {
  name: string;
  flag: string;
  dir: string;
  /** What the layer's build (layers/chat-core/build.mjs) says it bundled from. */
  layerLog: RegExp;
}

const BUILD_PATHS: BuildPath[] = [
  {
    name: 'out of source',
    flag: '--no-build-in-source',
    dir: path.join(ROOT, '.aws-sam', 'template-test', 'build-out-of-source'),
    layerLog: /installing from package-lock\.json/,
  },
  {
    name: 'in source',
    flag: '--build-in-source',
    dir: path.join(ROOT, '.aws-sam', 'template-test', 'build-in-source'),
    layerLog: /the installed packages match package-lock\.json/,
  },
];

/**
 * Strings that only bundled AWS SDK v3 / Smithy / Powertools / X-Ray code contains (checked
 * against the layer bundle below, so they are known to be real markers, not typos).
 */
const SDK_MARKERS = [
  'aws-sdk-js', // SDK user agent
  'x-amz-user-agent',
  'DynamoDB_20120810', // DynamoDB JSON protocol target
  'ApiGatewayManagementApi',
];
const LIBRARY_MARKERS = [
  ...SDK_MARKERS,
  '_X_AMZN_TRACE_ID', // Tracer / X-Ray
  'POWERTOOLS_SERVICE_NAME', // Powertools configuration
];

/** Function bundles stay small because everything shared comes from the layer. */
const MAX_FUNCTION_BUNDLE_BYTES = 32 * 1024;

interface SourceMap {
  sources: string[];
}

/** The sources a bundle's map lists, as absolute paths (they are relative to the map). */
function readSourceMap(bundle: string): string[] {
  const map = JSON.parse(readFileSync(`${bundle}.map`, 'utf8')) as SourceMap;
  return map.sources.map((source) => path.resolve(path.dirname(bundle), source));
}

/** The credential providers' bundles (layers/chat-core/build.mjs, LAZY_PROVIDERS). */
const LAZY_PROVIDER_FILES = ['http', 'imds', 'ini', 'process', 'sso', 'web-identity'].map((name) => `credentials/${name}.js`);

function layerBundle(dir: string, layer: LayerInfo): string {
  return path.join(dir, layer.logicalId, 'nodejs', 'node_modules', layer.packageName, 'index.js');
}

function functionBundle(dir: string, fn: FunctionInfo): string {
  return path.join(dir, fn.logicalId, 'index.js');
}

/**
 * The modules a bundle loads at run time (require calls and imports, parsed by esbuild
 * rather than matched as text, so an error message quoting `require("x")` is no import).
 */
async function requiredModules(bundle: string): Promise<string[]> {
  const result = await build({
    entryPoints: [bundle],
    bundle: true,
    external: ['*'],
    metafile: true,
    write: false,
    platform: 'node',
    logLevel: 'silent',
    outdir: path.join(os.tmpdir(), 'template-test-unused'),
  });
  const imports = Object.values(result.metafile.inputs).flatMap((input) => input.imports);
  return [...new Set(imports.filter((item) => item.external).map((item) => item.path))].sort();
}

/** A credential provider the layer's build gives a bundle of its own, imported relative to the importer (build.mjs, LAZY_PROVIDERS). */
function isLazyProvider(name: string): boolean {
  return /^\.\/(credentials\/)?[a-z-]+\.js$/.test(name);
}

function isBuiltin(name: string): boolean {
  return name.startsWith('node:') || builtinModules.includes(name);
}

/** What `Ref: AWS::NoValue` resolves to here: the variable is left out. */
const NO_VALUE = '\u0000no value';

/**
 * Plausible values for the functions' environment variables, resolved from the template
 * (parameter defaults, placeholder ids shaped like what Ref and GetAtt return): enough for
 * a module that validates its environment at load time, as the layer does.
 */
function functionEnvironment(
  template: Template,
  properties: Record<string, unknown>,
  overrides: Record<string, string> = {},
): Record<string, string> {
  const pseudo: Record<string, string> = {
    'AWS::Region': 'us-east-1',
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::Partition': 'aws',
    'AWS::AccountId': '123456789012',
    'AWS::StackName': 'template-test',
  };
  const ref = (id: string): string => {
    if (id === 'AWS::NoValue') return NO_VALUE;
    if (pseudo[id] !== undefined) return pseudo[id];
    const parameter = template.Parameters?.[id];
    if (parameter) return overrides[id] ?? String(parameter.Default ?? '');
    const type = template.Resources[id]?.Type;
    if (type === undefined) throw new Error(`Ref to ${id}, which the template does not declare`);
    // Ref of a queue is its URL; of most other resources, a name or an id.
    if (type === 'AWS::SQS::Queue') return `https://sqs.us-east-1.amazonaws.com/123456789012/template-test-${id}`;
    if (type === 'AWS::SNS::Topic') return `arn:aws:sns:us-east-1:123456789012:template-test-${id}`;
    return `template-test-${id}`.toLowerCase();
  };
  const getAtt = (id: string, attribute: string): string =>
    attribute === 'Arn'
      ? `arn:aws:${template.Resources[id]?.Type.split('::')[1]?.toLowerCase()}:us-east-1:123456789012:${ref(id)}`
      : ref(id);
  /** Conditions of Equals, Not, And, Or and Condition over parameters, as CloudFormation evaluates them. */
  const holds = (condition: unknown): boolean => {
    const object = (condition ?? {}) as Record<string, unknown>;
    if (typeof object.Condition === 'string') return holds(template.Conditions?.[object.Condition]);
    const [key, args] = Object.entries(object)[0] ?? [];
    const list = Array.isArray(args) ? args : [];
    if (key === 'Fn::Equals') return resolve(list[0]) === resolve(list[1]);
    if (key === 'Fn::Not') return !holds(list[0]);
    if (key === 'Fn::And') return list.every(holds);
    if (key === 'Fn::Or') return list.some(holds);
    throw new Error(`cannot evaluate the condition ${JSON.stringify(condition)}`);
  };
  const resolve = (value: unknown): string => {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
    const object = (value ?? {}) as Record<string, unknown>;
    if (typeof object.Ref === 'string') return ref(object.Ref);
    const choice = object['Fn::If'];
    if (Array.isArray(choice)) return resolve(holds({ Condition: choice[0] }) ? choice[1] : choice[2]);
    const mapped = object['Fn::FindInMap'];
    if (Array.isArray(mapped)) {
      const [map, top, second] = mapped.map(String) as [string, string, string];
      return String(template.Mappings?.[map]?.[top]?.[second]);
    }
    const att = object['Fn::GetAtt'];
    if (Array.isArray(att)) return getAtt(String(att[0]), String(att[1]));
    const sub = subText(value);
    if (sub !== undefined) {
      return sub.replace(/\$\{([^}.]+)(?:\.([^}]+))?\}/g, (_m, id: string, attribute?: string) =>
        attribute ? getAtt(id, attribute) : ref(id),
      );
    }
    throw new Error(`cannot give a test value to ${JSON.stringify(value)}`);
  };
  const variables = {
    ...((template.Globals?.Function?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}),
    ...((properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}),
  };
  return Object.fromEntries(
    Object.entries(variables)
      .map(([key, value]) => [key, resolve(value)])
      .filter(([, value]) => value !== NO_VALUE),
  );
}

/** The authorizer's bundle is the exception: it carries its JWT library and logger. */
const MAX_AUTHORIZER_BUNDLE_BYTES = 64 * 1024;

/** The package a bundled source belongs to: `node_modules/@scope/name/...` → `@scope/name`. */
function packageOf(source: string): string | undefined {
  const parts = source.split(path.sep);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0) return undefined;
  return parts.slice(at + 1, parts[at + 1]?.startsWith('@') ? at + 3 : at + 2).join('/');
}

/**
 * The authorizer runs on every connect (WebSocket APIs do not cache its answers): it bundles
 * jose and the Powertools logger, and of the layer loads only `<package>/identity`, so that a
 * cold start does not load the SDK clients. `relative` are its sources relative to its folder.
 */
async function expectLeanAuthorizer(fn: FunctionInfo, bundle: string, relative: string[], layerPackages: string[]): Promise<void> {
  const required = (await requiredModules(bundle)).filter((name) => !isBuiltin(name));
  expect(required, `${fn.logicalId} requires`).to.deep.equal(layerPackages.map((name) => `${name}/identity`));
  const code = readFileSync(bundle, 'utf8');
  for (const marker of SDK_MARKERS) expect(code, `${fn.logicalId} bundles SDK code (${marker})`).not.to.include(marker);
  const bundled = [...new Set(relative.map(packageOf).filter((name) => name !== undefined))].sort();
  expect(bundled, `${fn.logicalId} bundles`).to.include.members(['@aws-lambda-powertools/logger', 'jose']);
  expect(
    bundled.filter((name) => /^@(aws-sdk|smithy)\//.test(name)),
    `${fn.logicalId} bundles SDK packages`,
  ).to.deep.equal([]);
  expect(statSync(bundle).size, `${fn.logicalId} bundle size`).to.be.below(MAX_AUTHORIZER_BUNDLE_BYTES);
}

describe('sam build, out of source and in source', function () {
  this.timeout(TOOL_TIMEOUT_MS);
  const app: AppInfo = describeApp(loadTemplate());
  const builds = new Map<string, Promise<RunResult>>();

  before(() => {
    // Both at once: the suite waits for the slower one only. Each build path's own `before`
    // awaits its result, so that one failing build fails only its own tests.
    for (const build of BUILD_PATHS) {
      rmSync(build.dir, { recursive: true, force: true });
      const started = run('sam', ['build', build.flag, '--no-cached', '--build-dir', build.dir]);
      started.catch(() => undefined); // awaited (and reported) below
      builds.set(build.name, started);
    }
  });

  for (const build of BUILD_PATHS) {
    describe(build.name, () => {
      let result: RunResult;

      before(async () => {
        result = await (builds.get(build.name) as Promise<RunResult>);
        expect(result.code, `sam build ${build.flag} failed\n${output(result)}`).to.equal(0);
        expect(result.stdout + result.stderr).to.match(/Build Succeeded/);
        console.log(`      sam build ${build.flag}: ${(result.ms / 1000).toFixed(1)} s into ${path.relative(ROOT, build.dir)}/`);
      });

      it('writes a built template without the YAML anchors of template.yaml (CloudFormation refuses aliases; sam deploy uploads this one)', () => {
        const source = readFileSync(path.join(ROOT, 'template.yaml'), 'utf8');
        const anchors = /(?:^|[\s,[{:])[&*][A-Za-z]\w*(?=[\s,\]}]|$)/m;
        expect(source, 'template.yaml uses anchors (else this test proves nothing)').to.match(anchors);
        const built = readFileSync(path.join(build.dir, 'template.yaml'), 'utf8');
        expect(built.match(anchors)?.[0]).to.equal(undefined);
      });

      it(`bundles the layer ${build.name === 'out of source' ? 'from packages installed from its own package-lock.json, in its copy' : "from the workspace's installed packages"}`, () => {
        expect(result.stdout + result.stderr, output(result)).to.match(build.layerLog);
      });

      it("puts each layer's package at nodejs/node_modules/<package>, with a package.json naming its entries", async () => {
        expect(app.layers).to.have.length.greaterThan(0);
        for (const layer of app.layers) {
          const packageDir = path.dirname(layerBundle(build.dir, layer));
          expect(existsSync(path.join(packageDir, 'index.js')), `${packageDir}/index.js`).to.equal(true);
          const manifest = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as {
            name?: string;
            main?: string;
            exports?: Record<string, string>;
          };
          expect(manifest.name).to.equal(layer.packageName);
          expect(existsSync(path.join(packageDir, manifest.main ?? 'index.js')), `main ${manifest.main}`).to.equal(true);
          // `<package>/identity`, the authorizer's entry: the identity module and the wire rules it
          // shares with the page, no library.
          expect(manifest.exports, `${layer.logicalId} exports`).to.deep.equal({ '.': './index.js', './identity': './identity.js' });
          const identity = path.join(packageDir, 'identity.js');
          expect(
            readSourceMap(identity)
              .map((source) => path.relative(packageDir, source))
              .sort(),
          ).to.deep.equal([path.join('src', 'identity', 'identity.ts'), path.join('src', 'wire', 'wire.ts')]);
          expect(
            (await requiredModules(identity)).filter((name) => !isBuiltin(name)),
            'identity.js requires',
          ).to.deep.equal([]);
        }
      });

      it('builds the layer from its own sources and bundles the SDK clients and Powertools into it', async () => {
        for (const layer of app.layers) {
          const bundle = layerBundle(build.dir, layer);
          const code = readFileSync(bundle, 'utf8');
          for (const marker of LIBRARY_MARKERS) expect(code, `${layer.logicalId} bundle lacks ${marker}`).to.include(marker);
          // The map names sources relative to the package folder, whichever folder it was built in.
          const sources = readSourceMap(bundle).map((source) => path.relative(path.dirname(bundle), source));
          const own = sources.filter((source) => source.startsWith(`src${path.sep}`));
          expect(own, sources.join('\n')).to.include(path.join('src', 'index.ts'));
          for (const source of own)
            expect(existsSync(path.join(ROOT, layer.contentUri, source)), `${layer.contentUri}/${source}`).to.equal(true);
          expect(sources.filter((source) => !own.includes(source) && !source.startsWith(`node_modules${path.sep}`))).to.deep.equal([]);
          const externals = (await requiredModules(bundle)).filter((name) => !isBuiltin(name));
          expect(
            externals.filter((name) => !isLazyProvider(name)),
            `${layer.logicalId} requires modules Lambda does not provide`,
          ).to.deep.equal([]);
        }
      });

      it("loads the SDK's credential providers past the environment's on first use only, from bundles of their own beside it", async () => {
        for (const layer of app.layers) {
          const bundle = layerBundle(build.dir, layer);
          const lazy = (await requiredModules(bundle)).filter(isLazyProvider);
          expect(lazy, 'credentials/*.js imported by index.js').to.include.members(['./credentials/ini.js', './credentials/sso.js']);
          for (const file of lazy) {
            const provider = path.join(path.dirname(bundle), file);
            expect(existsSync(provider), provider).to.equal(true);
            const own = (await requiredModules(provider)).filter((name) => !isBuiltin(name));
            expect(
              own.filter((name) => !isLazyProvider(name)),
              `${file} requires`,
            ).to.deep.equal([]);
          }
          // Without credentials in the environment, the chain reaches them: the shared credentials
          // file (credentials/ini.js) signs the call, which then fails to connect to a closed port.
          const credentialsFile = path.join(build.dir, 'credentials.ini');
          writeFileSync(credentialsFile, '[default]\naws_access_key_id = AKIDLAYERTEST\naws_secret_access_key = secret\n');
          const probe = `require(${JSON.stringify(bundle)}).readHistory('dev', { limit: 1 }).then(
            () => process.exit(2), (e) => { process.stdout.write(String(e.code ?? e.name)); })`;
          const result = await run(process.execPath, ['-e', probe], {
            env: {
              PATH: process.env.PATH ?? '',
              HOME: build.dir,
              AWS_REGION: 'us-east-1',
              AWS_EC2_METADATA_DISABLED: 'true',
              AWS_CONFIG_FILE: path.join(build.dir, 'no-config'),
              AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
              AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9',
              POWERTOOLS_TRACE_ENABLED: 'false',
              CONNECTIONS_TABLE: 'c',
              MESSAGES_TABLE: 'm',
              RATE_LIMITS_TABLE: 'r',
              CONNECTIONS_URL: 'https://abc.execute-api.us-east-1.amazonaws.com/p',
            },
          });
          expect(result.stdout, output(result)).to.equal('ECONNREFUSED');
        }
      });

      it('gives every function a bundle of its own code only: no layer, SDK or Powertools code inside (the authorizer: jose and its logger, no SDK)', async () => {
        const layerPackages = app.layers.map((layer) => layer.packageName);
        expect(app.functions).to.have.length.greaterThan(0);
        for (const fn of app.functions) {
          const bundle = functionBundle(build.dir, fn);
          expect(existsSync(bundle), bundle).to.equal(true);
          // The source map lists every file esbuild put in the bundle, relative to the function's
          // folder (functions/build.mjs), whichever folder SAM built it in: its own files, and the
          // packages it bundles as node_modules/<package>/....
          const relative = (JSON.parse(readFileSync(`${bundle}.map`, 'utf8')) as SourceMap).sources;
          expect(relative, `${fn.logicalId} sources`).to.include('index.ts');
          expect(
            relative.filter((source) => source.startsWith('..') || path.isAbsolute(source)),
            `${fn.logicalId}: sources outside its folder (a build path, the layer)`,
          ).to.deep.equal([]);
          const own = relative.filter((source) => !source.startsWith('node_modules/'));
          for (const source of own) expect(existsSync(path.join(ROOT, fn.codeUri, source)), `${fn.codeUri}/${source}`).to.equal(true);
          if (app.authorizers.some((authorizer) => authorizer.functionId === fn.logicalId)) {
            await expectLeanAuthorizer(fn, bundle, relative, layerPackages);
            continue;
          }
          expect(
            relative.filter((source) => !own.includes(source)),
            `${fn.logicalId}: node_modules in bundle`,
          ).to.deep.equal([]);

          // The layer's package is loaded at run time, from /opt/nodejs/node_modules.
          const required = (await requiredModules(bundle)).filter((name) => !isBuiltin(name));
          expect(required, `${fn.logicalId} requires`).to.include.members(layerPackages);
          expect(
            required.filter((name) => !layerPackages.includes(name)),
            `${fn.logicalId} requires modules no layer provides`,
          ).to.deep.equal([]);
          const code = readFileSync(bundle, 'utf8');
          for (const marker of LIBRARY_MARKERS) expect(code, `${fn.logicalId} bundles library code (${marker})`).not.to.include(marker);

          expect(statSync(bundle).size, `${fn.logicalId} bundle size`).to.be.below(MAX_FUNCTION_BUNDLE_BYTES);
        }
      });

      it('loads each function the way Lambda does: its bundle in /var/task, the layer in /opt', async function () {
        const template = app.template;
        for (const fn of app.functions) {
          const handler = String(fn.properties.Handler ?? template.Globals?.Function?.Handler ?? 'index.handler');
          const env = {
            AWS_REGION: 'us-east-1',
            AWS_LAMBDA_FUNCTION_NAME: fn.logicalId,
            POWERTOOLS_DEV: 'true',
            ...functionEnvironment(
              template,
              fn.properties,
              template.Resources[fn.logicalId]?.Condition ? CONDITIONAL_FUNCTION_PARAMETERS : {},
            ),
          };
          const layerIds = app.layers.map((layer) => layer.logicalId);
          const loaded = await loadBuiltFunction({ buildDir: build.dir, layerIds, functionId: fn.logicalId, handler, env });
          expect(loaded.code, `${fn.logicalId} (${handler}) does not load with the layer on NODE_PATH:\n${loaded.stderr}`).to.equal(0);
        }
      });
    });
  }

  describe('every build path', () => {
    const [first, ...others] = BUILD_PATHS as [BuildPath, ...BuildPath[]];

    before(async () => {
      for (const build of BUILD_PATHS) expect((await builds.get(build.name))?.code, `sam build ${build.flag} (see above)`).to.equal(0);
    });

    it('gives the same artifacts, byte for byte, source maps and built template included (the same packages, whichever folder SAM built from)', () => {
      const files = [
        ...app.layers.flatMap((layer) =>
          ['index.js', 'identity.js', ...LAZY_PROVIDER_FILES].flatMap((file) => {
            const bundle = path.join(path.dirname(layerBundle('', layer)), file);
            return [bundle, `${bundle}.map`];
          }),
        ),
        ...app.functions.flatMap((fn) => [functionBundle('', fn), `${functionBundle('', fn)}.map`]),
        'template.yaml',
      ];
      for (const other of others) {
        const differ = files.filter((file) => !readFileSync(path.join(first.dir, file)).equals(readFileSync(path.join(other.dir, file))));
        expect(differ, `${first.name} vs ${other.name}`).to.deep.equal([]);
      }
    });

    it('reports bundle sizes', () => {
      const rows: Array<[string, number]> = [
        ...app.layers.map((layer): [string, number] => [`${layer.logicalId} (layer)`, statSync(layerBundle(first.dir, layer)).size]),
        ...app.functions.map((fn): [string, number] => [fn.logicalId, statSync(functionBundle(first.dir, fn)).size]),
      ];
      const width = Math.max(...rows.map(([name]) => name.length));
      console.log('      bundle sizes (index.js, minified, source maps apart):');
      for (const [name, size] of rows) console.log(`        ${name.padEnd(width)}  ${kib(size).padStart(10)}  (${size} B)`);
      expect(rows).to.have.length(app.layers.length + app.functions.length);
    });
  });
});
