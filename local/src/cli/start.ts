/**
 * The local runtime's command line (`npm start` runs it on this project's template, with the
 * chat page): a SAM template's WebSocket app locally. Prints the WebSocket URL, the page, each
 * HTTP API route (a line labelled with its event's name), the DynamoDB endpoint and the start-up
 * time, then one line per invocation; Ctrl+C (or SIGTERM) stops it.
 *
 *   npm start -- [--template template.yaml] [--page module] [--port 3001] [--host 127.0.0.1]
 *                [--dynamodb-port 8000] [--data-dir [.local-data]] [--parameter-overrides Name=Value ...]
 *                [--env-vars events/env.json]
 *                [--allow-origin URL ...] [--allow-host NAME ...]
 *
 * Environment: PORT, HOST, DYNAMODB_PORT, LOCAL_DATA_DIR, LOCAL_IAM, LOCAL_FAULTS (as the options).
 */
import { parseArgs } from 'node:util';
import { describeFaults, parseFaults } from '../faults/spec.js';
import type { IamMode } from '../iam/iam.js';
import { startLocalRuntime, type LocalRuntime } from '../index.js';
import { readEnvVarsFile } from '../lambda/env-vars.js';
import { describeNode, ensureNodeMajor, nodeRequirement, type NodeRequirement } from '../lambda/node-runtime.js';
import { httpRouteLines } from './banner.js';
import { parseParameterOverrides, portOf } from './options.js';
import { pageModule } from '../page/page.js';
import { loadTemplate } from '../template/template.js';

const HELP = `Usage: npm start -- [options]

  --template <file>             SAM template (default: template.yaml)
  --page <module>               the app's web page at /: a module exporting buildPage() (npm start
                                gives web/build.ts, the chat page; default: a page naming the app)
  --port <port>                 WebSocket API, @connections, HTTP APIs and the page (default: $PORT or 3001)
  --host <address>              interface to listen on (default: $HOST or 127.0.0.1)
  --allow-origin <url>          a page of this origin may open the WebSocket API too, e.g.
                                http://localhost:5173 (repeatable; default: only the runtime's own pages)
  --allow-host <name>           answer requests addressed to this host name too, on any port
                                (repeatable; a tunnel's or proxy's name; default: only its own addresses)
  --dynamodb-port <port>        embedded DynamoDB (default: $DYNAMODB_PORT or 8000)
  --data-dir [dir]              keep DynamoDB data on disk (default dir: .local-data; env LOCAL_DATA_DIR)
  --parameter-overrides <k=v>   template parameter values, repeatable or space-separated
  --env-vars <file>             function variables, as sam local invoke --env-vars takes them:
                                {"Parameters": {...}, "<FunctionLogicalId>": {...}}
  --no-watch                    do not rebuild and reload functions when their sources change
  --iam <enforce|audit|off>     the functions' IAM policies: deny what they do not allow (default),
                                only record it, or neither (env LOCAL_IAM)
  --faults <spec>               inject faults, e.g. post429=10%,dynamodbThrottling=5%,timeout=1%
                                (env LOCAL_FAULTS; see local/src/faults/spec.ts)
  --no-throttling               ignore the stage's throttling settings
  --no-tracing                  do not trace the functions of Tracing: Active (default: as Lambda, a trace
                                per invocation, segments to a local X-Ray daemon or $AWS_XRAY_DAEMON_ADDRESS)
  --quiet                       no invocation lines and no function logs
  --help
`;

function dataDirOf(argv: string[], env: string | undefined): string | undefined {
  const at = argv.findIndex((a) => a === '--data-dir' || a.startsWith('--data-dir='));
  if (at < 0) return env || undefined;
  const arg = argv[at] as string;
  if (arg.includes('=')) return arg.slice(arg.indexOf('=') + 1);
  const next = argv[at + 1];
  return next && !next.startsWith('--') ? next : '.local-data';
}

function iamMode(value: string | undefined): IamMode {
  const mode = value || 'enforce';
  if (mode !== 'enforce' && mode !== 'audit' && mode !== 'off')
    throw new Error(`--iam (LOCAL_IAM) is enforce, audit or off, got "${mode}"`);
  return mode;
}

function banner(
  runtime: LocalRuntime,
  host: string,
  dataDir: string | undefined,
  watching: boolean,
  node: NodeRequirement | undefined,
): string {
  const shown = (url: string): string => (host === '127.0.0.1' ? url.replace('//127.0.0.1:', '//localhost:') : url);
  const routes = [...runtime.template.routes.values()]
    .map((r) => `${r.routeKey} → ${r.functionId}${r.authorizer ? ` (authorizer ${r.authorizer.functionId})` : ''}`)
    .join(', ');
  const tables = Object.values(runtime.tables).join(', ');
  const queues = runtime.template.queueMappings
    .map((m) => `${runtime.template.queues.get(m.queueId)?.queueName ?? m.queueId} → ${m.functionId}`)
    .join(', ');
  // With an authorizer on $connect, a bare wscat gets 401: the hint brings a token along.
  const wscat = runtime.issuer
    ? `wscat -c "${shown(runtime.wsUrl)}?token=$(npm run --silent token -- --name alice | tail -1)"`
    : `wscat -c ${shown(runtime.wsUrl)}`;
  const lines = [
    `${runtime.template.title}, local runtime (${runtime.template.path}, stage ${runtime.stage})`,
    '',
    `  WebSocket API   ${shown(runtime.wsUrl)}      (${wscat})`,
    `  Web page        ${shown(runtime.httpUrl)}`,
    `  @connections    ${shown(runtime.connectionsUrl)}/@connections/{connectionId}`,
    ...httpRouteLines(runtime.httpRoutes, shown),
    `  DynamoDB        ${runtime.dynamodbEndpoint}   tables ${tables} (${dataDir ? `on disk in ${dataDir}` : 'in memory'})`,
    `  Credentials     AWS_ACCESS_KEY_ID=${runtime.credentials.accessKeyId} AWS_SECRET_ACCESS_KEY=${runtime.credentials.secretAccessKey}` +
      ` (calls to DynamoDB, SQS, @connections${runtime.httpRoutes.some((r) => r.authorization === 'AWS_IAM') ? ' and AWS_IAM routes' : ''} must be signed, as on AWS)`,
    `  Routes          ${routes}`,
    ...(queues ? [`  Queues          ${queues}`] : []),
    ...(runtime.issuer
      ? [
          `  Tokens          ${runtime.issuer.issuer} is played here: npm run token -- --name alice (a page of its own gets one at /_local/token)`,
        ]
      : []),
    `  Functions on    ${describeNode(node)}`,
    ...(runtime.tracing.daemon
      ? [
          `  Tracing         ${runtime.tracing.traced.length} function(s) of Tracing Active send X-Ray segments to udp ${runtime.tracing.daemon}` +
            ` (${process.env.AWS_XRAY_DAEMON_ADDRESS ? 'AWS_XRAY_DAEMON_ADDRESS' : "the runtime's own daemon: one line per trace"}; --no-tracing to stop)`,
        ]
      : []),
    `  IAM             ${runtime.iam.mode === 'enforce' ? 'enforced' : runtime.iam.mode === 'audit' ? 'audited (denials logged, not enforced)' : 'off'}` +
      ' (each function has its template policies; --iam audit|off to relax)',
    ...(describeFaults(runtime.faults.current()) ? [`  Faults          ${describeFaults(runtime.faults.current())}`] : []),
    '',
    `Ready in ${Math.round(runtime.startupMs)} ms.${watching ? ' Functions reload when their sources change.' : ''} Ctrl+C stops.`,
    '',
  ];
  return lines.join('\n');
}

async function main(): Promise<number | undefined> {
  const argv = process.argv.slice(2);
  const { values } = parseArgs({
    args: argv.filter(
      (a, i) => !(a === '--data-dir' || a.startsWith('--data-dir=') || (argv[i - 1] === '--data-dir' && !a.startsWith('--'))),
    ),
    options: {
      template: { type: 'string' },
      page: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'allow-origin': { type: 'string', multiple: true },
      'allow-host': { type: 'string', multiple: true },
      'dynamodb-port': { type: 'string' },
      'parameter-overrides': { type: 'string', multiple: true },
      'env-vars': { type: 'string' },
      quiet: { type: 'boolean' },
      'no-watch': { type: 'boolean' },
      iam: { type: 'string' },
      faults: { type: 'string' },
      'no-throttling': { type: 'boolean' },
      'no-tracing': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const templatePath = values.template ?? 'template.yaml';
  const overrides = parseParameterOverrides(values['parameter-overrides'] ?? []);
  const node = nodeRequirement(await loadTemplate(templatePath, { parameterOverrides: overrides }));
  const restarted = await ensureNodeMajor(node);
  if (restarted !== undefined) return restarted;
  const host = values.host ?? process.env.HOST ?? '127.0.0.1';
  const dataDir = dataDirOf(argv, process.env.LOCAL_DATA_DIR);
  const runtime = await startLocalRuntime({
    templatePath,
    ...(values.page ? { page: await pageModule(values.page) } : {}),
    port: portOf(values.port ?? process.env.PORT, 3001, 'PORT'),
    host,
    allowedOrigins: values['allow-origin'] ?? [],
    allowedHosts: values['allow-host'] ?? [],
    dynamodbPort: portOf(values['dynamodb-port'] ?? process.env.DYNAMODB_PORT, 8000, 'DYNAMODB_PORT'),
    dataDir,
    quiet: values.quiet ?? false,
    watch: !values['no-watch'],
    parameterOverrides: overrides,
    ...(values['env-vars'] && { envVars: await readEnvVarsFile(values['env-vars']) }),
    iam: iamMode(values.iam ?? process.env.LOCAL_IAM),
    faults: parseFaults(values.faults ?? process.env.LOCAL_FAULTS),
    throttling: !values['no-throttling'],
    tracing: !values['no-tracing'],
  });
  process.stdout.write(banner(runtime, host, dataDir, !values['no-watch'], node));

  let stoppingSince = 0;
  const stop = (signal: string): void => {
    // Ctrl+C reaches this process twice (from the terminal and relayed by tsx): only a
    // second signal a moment later means "stop at once".
    if (stoppingSince > 0) {
      if (Date.now() - stoppingSince < 1000) return;
      process.stdout.write('Stopping at once.\n');
      process.exit(1);
    }
    stoppingSince = Date.now();
    process.stdout.write(`\n${signal}: closing connections and stopping...\n`);
    runtime.close().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`error while stopping: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  return undefined;
}

main().then(
  (code) => {
    // undefined: the runtime serves until a signal stops it.
    if (code !== undefined) process.exit(code);
  },
  (e: unknown) => {
    process.stderr.write(`npm start: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
