import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, HttpHandlerOptions, HttpRequest, HttpResponse, Provider, RequestHandler } from '@smithy/types';
import { OneShotSha256 } from './one-shot-sha256';

/**
 * What the direct paths (direct-post.ts, direct-dynamodb.ts) share: a request the SDK would send,
 * signed with the SDK's own SigV4 signer and sent through the client's own HTTP handler.
 */

/** Where a client's calls go: its endpoint, as the SDK resolves it. */
export interface Endpoint {
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
}

/** What of a client's resolved configuration a direct call uses. */
export interface DirectConfig {
  credentials: AwsCredentialIdentity | Provider<AwsCredentialIdentity>;
  region: string | Provider<string>;
  systemClockOffset: number;
  requestHandler: RequestHandler<HttpRequest, HttpResponse, HttpHandlerOptions>;
}

/** The SDK's signer for a client's service, with the client's credentials and region (SHA-256: one-shot-sha256.ts). */
export const directSigner = (config: DirectConfig, service: string): SignatureV4 =>
  new SignatureV4({ credentials: config.credentials, region: config.region, service, sha256: OneShotSha256 });

/** A POST to `path` of `endpoint`, its Host header as the SDK writes it. */
export function postTo(endpoint: Endpoint, path: string, headers: Record<string, string>, body: string | Uint8Array): HttpRequest {
  const port = endpoint.port === undefined ? '' : `:${endpoint.port}`;
  return {
    method: 'POST',
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    ...(endpoint.port !== undefined && { port: endpoint.port }),
    path,
    query: {},
    headers: { host: `${endpoint.hostname}${port}`, ...headers },
    body,
  };
}

/** Signs `request` (at the client's clock offset) and sends it through the client's HTTP handler. */
export async function signAndSend(
  signer: SignatureV4,
  config: DirectConfig,
  request: HttpRequest,
  abortSignal: AbortSignal | undefined,
): Promise<HttpResponse> {
  const signed = await signer.sign(request, { signingDate: new Date(Date.now() + config.systemClockOffset) });
  const { response } = await config.requestHandler.handle(signed, { ...(abortSignal && { abortSignal }) });
  return response;
}

/**
 * The invocation's trace id, as the SDK's recursion-detection middleware sends it from a Lambda
 * function: AWS uses it against loops of functions, and the X-Ray SDK's HTTP capture leaves a
 * request that carries it alone (a direct call is traced by its own path, or not at all).
 */
export function traceHeader(): { 'X-Amzn-Trace-Id': string } | undefined {
  const traceId = process.env._X_AMZN_TRACE_ID;
  return process.env.AWS_LAMBDA_FUNCTION_NAME && traceId ? { 'X-Amzn-Trace-Id': traceId } : undefined;
}

/** A response header's value, when it has one. */
export const header = (response: HttpResponse, name: string): string | undefined => {
  const value = response.headers[name];
  return typeof value === 'string' ? value : undefined;
};
