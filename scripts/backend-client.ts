/**
 * A call to the backend HTTP API as `npm run publish` and `npm run moderate` make it: a JSON POST
 * signed with SigV4 (service execute-api) by the AWS SDK's own signer, the way this repo already
 * signs by hand (local/src/iam/sigv4.ts's localSigner), and the command line around it: its
 * options, its output and exit codes (0 done, 1 refused or unreachable, 2 a wrong command line).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { localSigner } from '../local/src/index';
import {
  DEFAULT_DEPS,
  ENDPOINT_OPTIONS,
  ENDPOINT_USAGE,
  resolveEndpoint,
  type Endpoint,
  type EndpointDeps,
  type EndpointOptions,
} from './backend-endpoint';

/** A command line that cannot be run: exit 2, with the usage. */
export class UsageError extends Error {}

export interface BackendReply {
  status: number;
  /** The answer's JSON, or undefined when it is not JSON. */
  json: unknown;
  text: string;
}

type OptionValues = Record<string, string | boolean | undefined>;

export interface ParsedCommand<T> {
  endpoint: EndpointOptions;
  /** The JSON body to send. */
  body: T;
}

export interface BackendCommand<T> {
  /** The npm script: publish, moderate (named in errors). */
  name: string;
  usage: string;
  /** The route under the API's base URL: messages, moderation. */
  route: string;
  /** The command line as a body to send; throws UsageError. */
  parse(argv: string[]): ParsedCommand<T> | 'help';
}

/** parseArgs (strict) with the endpoint options and the command's own; its errors as UsageErrors. */
export function parseCommandLine(
  argv: string[],
  own: Record<string, { type: 'string' | 'boolean' }>,
  allowPositionals = false,
): { values: OptionValues; positionals: string[]; endpoint: EndpointOptions; help: boolean } {
  let parsed: { values: OptionValues; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: { ...ENDPOINT_OPTIONS, ...own }, strict: true, allowPositionals });
  } catch (error: unknown) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const endpoint: EndpointOptions = {
    url: values.url as string | undefined,
    local: values.local as boolean | undefined,
    'stack-name': values['stack-name'] as string | undefined,
    region: values.region as string | undefined,
    'config-env': values['config-env'] as string | undefined,
  };
  return { values, positionals, endpoint, help: values.help === true };
}

/** The value of a required string option, not empty. */
export function required(values: OptionValues, name: string): string {
  const value = values[name];
  if (typeof value !== 'string') throw new UsageError(`--${name} is required`);
  if (value.trim() === '') throw new UsageError(`--${name} must not be empty`);
  return value;
}

/** POSTs body as JSON to `${endpoint.url}/${route}`, signed with the endpoint's credentials. */
export async function signedPost(endpoint: Endpoint, route: string, body: unknown, fetchImpl: typeof fetch = fetch): Promise<BackendReply> {
  const url = new URL(`${endpoint.url}/${route}`);
  const payload = JSON.stringify(body);
  let credentials: Awaited<ReturnType<Endpoint['credentials']>>;
  try {
    credentials = await endpoint.credentials();
  } catch (error: unknown) {
    const hint = 'set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or give --local for npm start';
    throw new Error(`no AWS credentials to sign with (${hint}): ${(error as Error).message}`, { cause: error });
  }
  // A session token (temporary credentials) rides along to the signer: it adds x-amz-security-token.
  const signer = localSigner(credentials, 'execute-api', endpoint.region);
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query: {},
    headers: { host: url.host, 'content-type': 'application/json' },
    body: payload,
  });
  let response: Response;
  try {
    response = await fetchImpl(url, { method: 'POST', headers: signed.headers, body: payload, signal: AbortSignal.timeout(30_000) });
  } catch (error: unknown) {
    const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
    throw new Error(`cannot reach ${url.href} (${endpoint.origin}): ${cause}`, { cause: error });
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

/** `<status> <code>: <message>` of an error answer, or the gateway's `<status> <message>`. */
export function describeFailure(reply: BackendReply): string {
  const { code, message } = (typeof reply.json === 'object' && reply.json !== null ? reply.json : {}) as Record<string, unknown>;
  if (typeof code === 'string' && typeof message === 'string') return `${reply.status} ${code}: ${message}`;
  if (typeof message === 'string') return `${reply.status} ${message}`;
  return `${reply.status} ${reply.text.trim() || '(no body)'}`;
}

export interface RunIo {
  stdout(text: string): void;
  stderr(text: string): void;
  deps?: EndpointDeps;
  fetch?: typeof fetch;
}

const PROCESS_IO: RunIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Runs a command line to its exit code. */
export async function runBackendCommand<T>(command: BackendCommand<T>, argv: string[], io: RunIo = PROCESS_IO): Promise<number> {
  let parsed: ParsedCommand<T> | 'help';
  try {
    parsed = command.parse(argv);
  } catch (error: unknown) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`npm run ${command.name}: ${error.message}\n\n${command.usage}\n${ENDPOINT_USAGE}`);
    return 2;
  }
  if (parsed === 'help') {
    io.stdout(`${command.usage}\n${ENDPOINT_USAGE}`);
    return 0;
  }
  try {
    const endpoint = await resolveEndpoint(parsed.endpoint, io.deps ?? DEFAULT_DEPS);
    const reply = await signedPost(endpoint, command.route, parsed.body, io.fetch);
    if (reply.status < 200 || reply.status > 299) {
      io.stderr(`${command.name} failed: ${describeFailure(reply)}\n`);
      return 1;
    }
    io.stdout(`${reply.json === undefined ? reply.text : JSON.stringify(reply.json, null, 2)}\n`);
    return 0;
  } catch (error: unknown) {
    io.stderr(`${command.name} failed: ${(error as Error).message}\n`);
    return 1;
  }
}

/** True in the module `tsx scripts/<name>.ts` runs (not when a test imports it). */
export function isEntry(moduleUrl: string): boolean {
  const script = process.argv[1];
  return script !== undefined && path.resolve(script) === fileURLToPath(moduleUrl);
}

/** The entry point of a command: runs it with the process's arguments and sets the exit code. */
export function main<T>(command: BackendCommand<T>, moduleUrl: string): void {
  if (!isEntry(moduleUrl)) return;
  runBackendCommand(command, process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`npm run ${command.name}: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
