/**
 * `npm run invoke -- <FunctionLogicalId> <event.json>`: `sam local invoke` without Docker. Runs
 * one function of the template once, on one event file, against the local DynamoDB (the one
 * `npm start` runs on DYNAMODB_PORT if it is up, else an embedded one with the tables created),
 * and prints the result on stdout (the function's logs and a REPORT line go to stderr).
 * The Management API calls go to `npm start`'s port (PORT, default 3001); when it is not running,
 * they get 410 GoneException, as for connections that no longer exist.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { parseArgs } from 'node:util';
import { buildAll, defaultBuildRoot } from '../lambda/build.js';
import { createFunctionPools } from '../lambda/lambda-env.js';
import { DEFAULT_LIMITS } from '../apigateway/limits.js';
import { ManagementApi } from '../apigateway/management-api.js';
import { ensureTables, existingStore, startStore } from '../dynamodb/store.js';
import { readEnvVarsFile } from '../lambda/env-vars.js';
import { ensureNodeMajor, nodeRequirement } from '../lambda/node-runtime.js';
import { parseParameterOverrides, portOf } from './options.js';
import { loadTemplate } from '../template/template.js';
import { LocalTokenIssuer } from '../cognito/token-issuer.js';

const HELP = `Usage: npm run invoke -- <FunctionLogicalId> <event.json | -> [options]

  --template <file>             SAM template (default: template.yaml)
  --env-vars <file>             JSON as for sam local invoke: {"Parameters": {...}, "<FunctionLogicalId>": {...}}
  --parameter-overrides <k=v>   template parameter values, repeatable or space-separated
  --data-dir <dir>              DynamoDB data on disk, when no store runs on DYNAMODB_PORT

Environment: DYNAMODB_PORT (default 8000), PORT of npm start (default 3001).
`;

async function readEvent(file: string): Promise<unknown> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  }
  return JSON.parse(await readFile(file, 'utf8'));
}

/**
 * Without `npm start` on its port, a Management API with no connections takes it, so that the
 * function's posts get what they would get for a connection that is gone (410 GoneException)
 * rather than "connection refused", with the token issuer's keys when the template has a user
 * pool (an authorizer verifies tokens of `npm run token`). Undefined when the port is taken
 * (npm start serves it).
 */
async function standInServer(stage: string, port: number, issuer: LocalTokenIssuer | undefined): Promise<Server | undefined> {
  const api = new ManagementApi({
    stage,
    gateway: { open: () => undefined, close: () => undefined },
    maxPayloadBytes: DEFAULT_LIMITS.messageBytes,
  });
  const server = createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (api.matches(pathname)) void api.handle(req, res, pathname);
    else if (issuer?.matches(pathname)) void issuer.handle(req, res, pathname, `http://127.0.0.1:${port}`);
    else res.writeHead(404).end();
  });
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      template: { type: 'string' },
      'env-vars': { type: 'string' },
      'parameter-overrides': { type: 'string', multiple: true },
      'data-dir': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  const [functionId, eventFile] = positionals;
  if (values.help || !functionId || !eventFile) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const overrides = parseParameterOverrides(values['parameter-overrides'] ?? []);
  const model = await loadTemplate(values.template ?? 'template.yaml', { parameterOverrides: overrides });
  const restarted = await ensureNodeMajor(nodeRequirement(model));
  if (restarted !== undefined) return restarted;
  if (!model.functions.has(functionId)) {
    throw new Error(`no function ${functionId} in ${model.path}; there are: ${[...model.functions.keys()].join(', ')}`);
  }
  const event = await readEvent(eventFile);

  const dynamodbPort = portOf(process.env.DYNAMODB_PORT, 8000, 'DYNAMODB_PORT');
  const managementPort = portOf(process.env.PORT, 3001, 'PORT');
  const store =
    (await existingStore(`http://127.0.0.1:${dynamodbPort}`)) ?? (await startStore({ port: dynamodbPort, dataDir: values['data-dir'] }));
  process.stderr.write(
    store.embedded
      ? `DynamoDB: started on ${store.endpoint} (${values['data-dir'] ? `on disk in ${values['data-dir']}` : 'in memory'})\n`
      : `DynamoDB: using the store already on ${store.endpoint}\n`,
  );
  try {
    await ensureTables(store.client, model);
    const buildRoot = defaultBuildRoot(model.dir);
    const build = await buildAll(model, buildRoot, [functionId]);
    const pools = createFunctionPools(
      model,
      build,
      {
        localOrigin: `http://127.0.0.1:${managementPort}`,
        dynamodbEndpoint: store.endpoint,
        ...(values['env-vars'] && { envVars: await readEnvVarsFile(values['env-vars']) }),
        buildRoot,
      },
      { maxConcurrency: 1, output: { stdout: process.stderr, stderr: process.stderr } },
    );
    const pool = pools.get(functionId);
    if (!pool) throw new Error(`${functionId} was not built`);
    const management = await standInServer(model.stage, managementPort, await LocalTokenIssuer.forTemplate(model));
    const outcome = await pool.invoke(event);
    await pool.close();
    management?.closeAllConnections();
    management?.close();
    const init = outcome.initMs === undefined ? '' : `\tInit Duration: ${outcome.initMs.toFixed(2)} ms`;
    process.stderr.write(`REPORT RequestId: ${outcome.requestId}\tDuration: ${outcome.durationMs.toFixed(2)} ms${init}\n`);
    if (outcome.error) {
      process.stdout.write(`${JSON.stringify({ errorType: outcome.error.errorType, errorMessage: outcome.error.errorMessage })}\n`);
      return 1;
    }
    process.stdout.write(`${outcome.payload === undefined ? 'null' : JSON.stringify(outcome.payload, null, 2)}\n`);
    return 0;
  } finally {
    await store.close();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`npm run invoke: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
