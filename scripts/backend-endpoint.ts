/**
 * Where `npm run publish` and `npm run moderate` send their calls, and as whom: the stack's backend
 * HTTP API (IAM authorization, stage `backend`), or the local runtime's copy of it.
 *
 *   --url URL     that base URL (e.g. https://abc.execute-api.us-east-1.amazonaws.com/backend)
 *   --local       http://127.0.0.1:$PORT/backend (PORT default 3001), signed as the local runtime
 *                 expects: access key local/local, region us-east-1 (with --url: at that URL)
 *   otherwise     the BackendApiUrl output of samconfig.toml's stack (--config-env, default
 *                 `default`; --stack-name and --region override it)
 *
 * Off --local, credentials come from the AWS SDK's default chain (AWS_PROFILE, environment, SSO,
 * instance roles...), and the signing region from --region, the API's own host name, samconfig.toml
 * or the SDK's region chain.
 */
import path from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { LOCAL_CREDENTIALS } from '../local/src/index';
import { describeStack, samconfigTarget, stackValues } from './stack';

/** The options every backend command takes (node:util parseArgs configuration). */
export const ENDPOINT_OPTIONS = {
  url: { type: 'string' },
  local: { type: 'boolean' },
  'stack-name': { type: 'string' },
  region: { type: 'string' },
  'config-env': { type: 'string' },
  help: { type: 'boolean' },
} as const;

export const ENDPOINT_USAGE = `Endpoint (default: the BackendApiUrl output of samconfig.toml's stack):
  --url URL            the backend API's base URL (…/backend)
  --local              the local runtime (npm start) at http://127.0.0.1:$PORT/backend (PORT default 3001)
  --stack-name NAME    another stack than samconfig.toml's
  --region REGION      its region (default: samconfig.toml's, else the AWS SDK's)
  --config-env ENV     samconfig.toml's environment (default: default)
  --help               this text
`;

export interface EndpointOptions {
  url?: string;
  local?: boolean;
  'stack-name'?: string;
  region?: string;
  'config-env'?: string;
}

/** An access key as the SDK's credential providers give it (sessionToken: temporary credentials). */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface Endpoint {
  /** The API's base URL, without a trailing slash: routes are appended (`${url}/messages`). */
  url: string;
  region: string;
  credentials: () => Promise<Credentials>;
  /** Where the URL came from, for error messages. */
  origin: string;
}

/** What resolution reads from outside, replaceable by tests. */
export interface EndpointDeps {
  env: NodeJS.ProcessEnv;
  samconfigFile: string;
  describeStack: typeof describeStack;
  defaultCredentials: () => () => Promise<Credentials>;
  sdkRegion: () => Promise<string>;
}

/** The local runtime verifies its backend API's signatures in this region. */
export const LOCAL_REGION = 'us-east-1';

/** The region of the SDK's chain (AWS_REGION, the profile's config), as any client would use it. */
async function sdkRegion(): Promise<string> {
  const client = new CloudFormationClient({});
  try {
    return await client.config.region();
  } catch (error: unknown) {
    throw new Error(`no region: give --region, or set AWS_REGION or the profile's region (${(error as Error).message})`, { cause: error });
  } finally {
    client.destroy();
  }
}

export const DEFAULT_DEPS: EndpointDeps = {
  env: process.env,
  samconfigFile: path.join(process.cwd(), 'samconfig.toml'),
  describeStack,
  defaultCredentials: () => defaultProvider(),
  sdkRegion,
};

/** us-east-1 of https://abc.execute-api.us-east-1.amazonaws.com/backend; undefined for another host. */
export function regionOfUrl(url: string): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(new URL(url).hostname)?.[1];
}

function baseUrl(url: string, origin: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${origin}: not a URL: ${url}`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error(`${origin}: not an http(s) URL: ${url}`);
  if (parsed.search || parsed.hash) throw new Error(`${origin}: a base URL has no query or fragment: ${url}`);
  return url.replace(/\/+$/, '');
}

/** The stack's BackendApiUrl, and the region it is in (--region, samconfig.toml's or the SDK's). */
async function fromStack(options: EndpointOptions, deps: EndpointDeps): Promise<{ url: string; region: string; origin: string }> {
  const environment = options['config-env'] ?? 'default';
  const configured = samconfigTarget(deps.samconfigFile, environment);
  const stackName = options['stack-name'] ?? configured.stackName;
  if (!stackName) throw new Error(`no --stack-name, and samconfig.toml's ${environment} environment names none`);
  const region = options.region ?? configured.region ?? (await deps.sdkRegion());
  const { outputs } = stackValues(await deps.describeStack(stackName, region));
  const url = outputs.BackendApiUrl;
  if (!url) {
    throw new Error(`stack ${stackName} has no BackendApiUrl output: deploy the current template (sam build && sam deploy), or give --url`);
  }
  return { url, region, origin: `stack ${stackName}'s BackendApiUrl` };
}

export async function resolveEndpoint(options: EndpointOptions, deps: EndpointDeps = DEFAULT_DEPS): Promise<Endpoint> {
  if (options.local) {
    const port = deps.env.PORT ?? '3001';
    const url = baseUrl(options.url ?? `http://127.0.0.1:${port}/backend`, options.url ? '--url' : 'PORT');
    const region = options.region ?? LOCAL_REGION;
    return { url, region, credentials: () => Promise.resolve({ ...LOCAL_CREDENTIALS }), origin: '--local: is npm start running?' };
  }
  const target = options.url ? { url: options.url, region: options.region, origin: '--url' } : await fromStack(options, deps);
  const url = baseUrl(target.url, target.origin);
  const region = target.region ?? regionOfUrl(url) ?? (await deps.sdkRegion());
  return { url, region, credentials: deps.defaultCredentials(), origin: target.origin };
}
