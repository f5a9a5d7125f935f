/**
 * `sam build` succeeds and its output has the shape Lambda needs: the layer's package at
 * nodejs/node_modules/<package> (Lambda mounts it at /opt/nodejs/node_modules), and
 * function bundles that contain only their own code and load the layer's package at run
 * time instead of carrying a copy of it, the SDK or Powertools.
 *
 * The build goes to its own directory (same layout as `.aws-sam/build`) so that the test
 * never races a `sam build`, `sam local` or benchmark running in the same checkout.
 */
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { build } from "esbuild";
import {
  ROOT,
  TOOL_TIMEOUT_MS,
  describeApp,
  kib,
  loadTemplate,
  output,
  run,
  subText,
  type AppInfo,
  type Template,
} from "./helpers";

const BUILD_DIR = path.join(ROOT, ".aws-sam", "template-test", "build");
/** The parameters under which the functions that exist only under a condition (the authorizer) exist. */
const CONDITIONAL_FUNCTION_PARAMETERS: Record<string, string> = { AuthMode: "cognito" };

/**
 * Strings that only bundled AWS SDK v3 / Smithy / Powertools / X-Ray code contains (checked
 * against the layer bundle below, so they are known to be real markers, not typos).
 */
const LIBRARY_MARKERS = [
  "aws-sdk-js", // SDK user agent
  "x-amz-user-agent",
  "DynamoDB_20120810", // DynamoDB JSON protocol target
  "ApiGatewayManagementApi",
  "_X_AMZN_TRACE_ID", // Tracer / X-Ray
  "POWERTOOLS_SERVICE_NAME", // Powertools configuration
];

/** Function bundles stay small because everything shared comes from the layer. */
const MAX_FUNCTION_BUNDLE_BYTES = 32 * 1024;

interface SourceMap {
  sources: string[];
}

function readSourceMap(bundle: string): string[] {
  const map = JSON.parse(readFileSync(`${bundle}.map`, "utf8")) as SourceMap;
  // Sources are relative to the map; make them relative to the repository.
  return map.sources.map((source) => path.relative(ROOT, path.resolve(path.dirname(bundle), source)));
}

/**
 * The modules a bundle loads at run time (require calls and imports, parsed by esbuild
 * rather than matched as text, so an error message quoting `require("x")` is no import).
 */
async function requiredModules(bundle: string): Promise<string[]> {
  const result = await build({
    entryPoints: [bundle],
    bundle: true,
    external: ["*"],
    metafile: true,
    write: false,
    platform: "node",
    logLevel: "silent",
    outdir: path.join(os.tmpdir(), "template-test-unused"),
  });
  const imports = Object.values(result.metafile.inputs).flatMap((input) => input.imports);
  return [...new Set(imports.filter((item) => item.external).map((item) => item.path))].sort();
}

function isBuiltin(name: string): boolean {
  return name.startsWith("node:") || builtinModules.includes(name);
}

/** What `Ref: AWS::NoValue` resolves to here: the variable is left out. */
const NO_VALUE = "\u0000no value";

/**
 * Plausible values for the functions' environment variables, resolved from the template
 * (parameter defaults, placeholder ids shaped like what Ref and GetAtt return): enough for
 * a module that validates its environment at load time, as the layer does.
 */
function functionEnvironment(template: Template, properties: Record<string, unknown>, overrides: Record<string, string> = {}): Record<string, string> {
  const pseudo: Record<string, string> = {
    "AWS::Region": "us-east-1",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::Partition": "aws",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "template-test",
  };
  const ref = (id: string): string => {
    if (id === "AWS::NoValue") return NO_VALUE;
    if (pseudo[id] !== undefined) return pseudo[id];
    const parameter = template.Parameters?.[id];
    if (parameter) return overrides[id] ?? String(parameter.Default ?? "");
    const type = template.Resources[id]?.Type;
    if (type === undefined) throw new Error(`Ref to ${id}, which the template does not declare`);
    // Ref of a queue is its URL; of most other resources, a name or an id.
    if (type === "AWS::SQS::Queue") return `https://sqs.us-east-1.amazonaws.com/123456789012/template-test-${id}`;
    if (type === "AWS::SNS::Topic") return `arn:aws:sns:us-east-1:123456789012:template-test-${id}`;
    return `template-test-${id}`.toLowerCase();
  };
  const getAtt = (id: string, attribute: string): string =>
    attribute === "Arn" ? `arn:aws:${template.Resources[id]?.Type.split("::")[1]?.toLowerCase()}:us-east-1:123456789012:${ref(id)}` : ref(id);
  /** Conditions of Equals, Not, And, Or and Condition over parameters, as CloudFormation evaluates them. */
  const holds = (condition: unknown): boolean => {
    const object = (condition ?? {}) as Record<string, unknown>;
    if (typeof object.Condition === "string") return holds(template.Conditions?.[object.Condition]);
    const [key, args] = Object.entries(object)[0] ?? [];
    const list = Array.isArray(args) ? args : [];
    if (key === "Fn::Equals") return resolve(list[0]) === resolve(list[1]);
    if (key === "Fn::Not") return !holds(list[0]);
    if (key === "Fn::And") return list.every(holds);
    if (key === "Fn::Or") return list.some(holds);
    throw new Error(`cannot evaluate the condition ${JSON.stringify(condition)}`);
  };
  const resolve = (value: unknown): string => {
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return String(value);
    const object = (value ?? {}) as Record<string, unknown>;
    if (typeof object.Ref === "string") return ref(object.Ref);
    const choice = object["Fn::If"];
    if (Array.isArray(choice)) return resolve(holds({ Condition: choice[0] }) ? choice[1] : choice[2]);
    const att = object["Fn::GetAtt"];
    if (Array.isArray(att)) return getAtt(String(att[0]), String(att[1]));
    const sub = subText(value);
    if (sub !== undefined) {
      return sub.replace(/\$\{([^}.]+)(?:\.([^}]+))?\}/g, (_m, id: string, attribute?: string) => (attribute ? getAtt(id, attribute) : ref(id)));
    }
    throw new Error(`cannot give a test value to ${JSON.stringify(value)}`);
  };
  const variables = {
    ...((template.Globals?.Function?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}),
    ...((properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}),
  };
  return Object.fromEntries(Object.entries(variables)
    .map(([key, value]) => [key, resolve(value)])
    .filter(([, value]) => value !== NO_VALUE));
}

/** An authorizer's bundle is the exception: it loads no layer, and carries its JWT library. */
const MAX_AUTHORIZER_BUNDLE_BYTES = 64 * 1024;
const SDK_MARKERS = ["aws-sdk-js", "x-amz-user-agent", "DynamoDB_20120810", "ApiGatewayManagementApi"];

/**
 * The authorizer runs on every connect (WebSocket APIs do not cache its answers), so it
 * loads no layer: its bundle holds jose and, of the layer, only chat-core/identity, no SDK.
 */
async function expectSelfContainedAuthorizer(id: string, codeUri: string, bundle: string, code: string, layerDirs: string[]): Promise<void> {
  const required = (await requiredModules(bundle)).filter((name) => !isBuiltin(name));
  expect(required, `${id} requires (it loads no layer)`).to.deep.equal([]);
  for (const marker of SDK_MARKERS) expect(code, `${id} bundles SDK code (${marker})`).not.to.include(marker);
  const sources = readSourceMap(bundle);
  const layerSources = sources.filter((source) => layerDirs.some((dir) => source.startsWith(dir)));
  expect(layerSources, `${id}: layer sources in bundle`).to.deep.equal(["layers/chat-core/src/identity.ts"]);
  expect(sources.some((source) => source.includes("node_modules/jose/")), `${id} bundles jose`).to.equal(true);
  expect(sources, `${id} sources`).to.include(`${codeUri}/index.ts`);
  expect(statSync(bundle).size, `${id} bundle size`).to.be.below(MAX_AUTHORIZER_BUNDLE_BYTES);
}

describe("sam build output", function () {
  this.timeout(TOOL_TIMEOUT_MS);
  let app: AppInfo;

  before(async () => {
    app = describeApp(loadTemplate());
    rmSync(BUILD_DIR, { recursive: true, force: true });
    const result = await run("sam", ["build", "--no-cached", "--build-dir", BUILD_DIR]);
    expect(result.code, `sam build failed\n${output(result)}`).to.equal(0);
    expect(result.stdout + result.stderr).to.match(/Build Succeeded/);
    console.log(`      sam build: ${(result.ms / 1000).toFixed(1)} s into ${path.relative(ROOT, BUILD_DIR)}/`);
  });

  it("puts each layer's package at nodejs/node_modules/<package>, with a package.json naming its entry", () => {
    expect(app.layers).to.have.length.greaterThan(0);
    for (const layer of app.layers) {
      const packageDir = path.join(BUILD_DIR, layer.logicalId, "nodejs", "node_modules", layer.packageName);
      expect(existsSync(path.join(packageDir, "index.js")), `${packageDir}/index.js`).to.equal(true);
      const manifest = JSON.parse(readFileSync(path.join(packageDir, "package.json"), "utf8")) as { name?: string; main?: string };
      expect(manifest.name).to.equal(layer.packageName);
      expect(existsSync(path.join(packageDir, manifest.main ?? "index.js")), `main ${manifest.main}`).to.equal(true);
    }
  });

  it("builds the layer from its own sources and bundles the SDK clients and Powertools into it", async () => {
    for (const layer of app.layers) {
      const bundle = path.join(BUILD_DIR, layer.logicalId, "nodejs", "node_modules", layer.packageName, "index.js");
      const code = readFileSync(bundle, "utf8");
      for (const marker of LIBRARY_MARKERS) expect(code, `${layer.logicalId} bundle lacks ${marker}`).to.include(marker);
      const sources = readSourceMap(bundle);
      expect(sources.some((source) => source.startsWith(`${layer.contentUri}/`)), sources.join("\n")).to.equal(true);
      const externals = (await requiredModules(bundle)).filter((name) => !isBuiltin(name));
      expect(externals, `${layer.logicalId} requires modules Lambda does not provide`).to.deep.equal([]);
    }
  });

  it("gives every function a bundle of its own code only: no layer, SDK or Powertools code inside", async () => {
    const layerPackages = app.layers.map((layer) => layer.packageName);
    const layerDirs = app.layers.map((layer) => `${layer.contentUri}/`);
    expect(app.functions).to.have.length.greaterThan(0);
    for (const fn of app.functions) {
      const bundle = path.join(BUILD_DIR, fn.logicalId, "index.js");
      expect(existsSync(bundle), bundle).to.equal(true);
      const code = readFileSync(bundle, "utf8");
      if (app.authorizers.some((authorizer) => authorizer.functionId === fn.logicalId)) {
        await expectSelfContainedAuthorizer(fn.logicalId, fn.codeUri, bundle, code, layerDirs);
        continue;
      }

      // The layer's package is loaded at run time, from /opt/nodejs/node_modules.
      const required = (await requiredModules(bundle)).filter((name) => !isBuiltin(name));
      expect(required, `${fn.logicalId} requires`).to.include.members(layerPackages);
      expect(required.filter((name) => !layerPackages.includes(name)), `${fn.logicalId} requires modules no layer provides`).to.deep.equal([]);

      for (const marker of LIBRARY_MARKERS) expect(code, `${fn.logicalId} bundles library code (${marker})`).not.to.include(marker);

      // The source map lists every file esbuild put in the bundle.
      const sources = readSourceMap(bundle);
      expect(sources.filter((source) => source.split(path.sep).includes("node_modules")), `${fn.logicalId}: node_modules in bundle`).to.deep.equal([]);
      expect(sources.filter((source) => layerDirs.some((dir) => source.startsWith(dir))), `${fn.logicalId}: layer sources in bundle`).to.deep.equal([]);
      expect(sources, `${fn.logicalId} sources`).to.include(`${fn.codeUri}/index.ts`);

      expect(statSync(bundle).size, `${fn.logicalId} bundle size`).to.be.below(MAX_FUNCTION_BUNDLE_BYTES);
    }
  });

  it("loads each function the way Lambda does: its bundle in /var/task, the layer in /opt", async function () {
    const sandbox = mkdtempSync(path.join(os.tmpdir(), "sam-layout-"));
    try {
      // Outside the repository, so that nothing resolves through the workspace's node_modules.
      const opt = path.join(sandbox, "opt");
      for (const layer of app.layers) cpSync(path.join(BUILD_DIR, layer.logicalId), opt, { recursive: true });
      const template = app.template;
      for (const fn of app.functions) {
        const task = path.join(sandbox, fn.logicalId);
        cpSync(path.join(BUILD_DIR, fn.logicalId), task, { recursive: true });
        const handler = String(fn.properties.Handler ?? template.Globals?.Function?.Handler ?? "index.handler");
        const [file, exported] = [handler.slice(0, handler.lastIndexOf(".")), handler.slice(handler.lastIndexOf(".") + 1)];
        const probe = `const m = require(${JSON.stringify(path.join(task, file))}); if (typeof m[${JSON.stringify(exported)}] !== "function") { console.error("no handler export"); process.exit(3); }`;
        const env = {
          PATH: process.env.PATH ?? "",
          NODE_PATH: path.join(opt, "nodejs", "node_modules"),
          AWS_REGION: "us-east-1",
          AWS_LAMBDA_FUNCTION_NAME: fn.logicalId,
          POWERTOOLS_DEV: "true",
          ...functionEnvironment(template, fn.properties, template.Resources[fn.logicalId]?.Condition ? CONDITIONAL_FUNCTION_PARAMETERS : {}),
        };
        const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
          execFile(process.execPath, ["-e", probe], { cwd: task, env, timeout: 30_000 }, (error, _stdout, stderr) =>
            resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }),
          );
        });
        expect(result.code, `${fn.logicalId} (${handler}) does not load with the layer on NODE_PATH:\n${result.stderr}`).to.equal(0);
      }
    } finally {
      rmSync(sandbox, { recursive: true, force: true });
    }
  });

  it("reports bundle sizes", () => {
    const rows: Array<[string, number]> = [];
    for (const layer of app.layers) {
      rows.push([`${layer.logicalId} (layer)`, statSync(path.join(BUILD_DIR, layer.logicalId, "nodejs", "node_modules", layer.packageName, "index.js")).size]);
    }
    for (const fn of app.functions) rows.push([fn.logicalId, statSync(path.join(BUILD_DIR, fn.logicalId, "index.js")).size]);
    const width = Math.max(...rows.map(([name]) => name.length));
    console.log("      bundle sizes (index.js, minified, source maps apart):");
    for (const [name, size] of rows) console.log(`        ${name.padEnd(width)}  ${kib(size).padStart(10)}  (${size} B)`);
    expect(rows).to.have.length(app.layers.length + app.functions.length);
  });
});
