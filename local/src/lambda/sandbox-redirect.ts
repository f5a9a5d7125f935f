/**
 * Inside a sandbox: the AWS calls a handler makes reach the local runtime without the handler
 * being told. The SDK clients a handler builds with only a region already do (the runtime sets
 * AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_SQS), but a Management API client is given its
 * endpoint by the handler, built from the event: `https://${domainName}/${stage}` (the local
 * runtime's own address, which speaks plain HTTP) or
 * `https://${apiId}.execute-api.${region}.amazonaws.com/${stage}`. So HTTPS requests to those
 * hosts, and to the DynamoDB and SQS endpoints of any region, are sent over plain HTTP to the
 * local service instead. The request keeps its headers, `Host` included, so its SigV4 signature
 * still verifies; the runtime's doors accept those AWS host names (doors.ts).
 *
 * The SDK's Node.js HTTP handler calls `https.request` of the `node:https` module at request
 * time, so replacing it there (and syncing the module's ES exports) covers CommonJS and ES
 * module handlers alike. Other HTTPS requests are left as they are.
 */
import http, { type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';

export interface LocalServices {
  /** http://127.0.0.1:<port>: the WebSocket API, its @connections and SQS. */
  origin: string;
  /** http://127.0.0.1:<port>: the DynamoDB store. */
  dynamodb: string;
}

/** Host names of the AWS services the local runtime plays, in any region. */
export const AWS_SERVICE_HOST = /^(?:[a-z0-9]+\.execute-api|dynamodb|sqs)\.[a-z]{2}(?:-[a-z]+)+-\d+\.amazonaws\.com(?:\.cn)?$/i;

/** Where a request to `host:port` goes locally, or undefined when it is not for the local runtime. */
export function localTarget(host: string, port: string, services: LocalServices): URL | undefined {
  const origin = new URL(services.origin);
  const name = host.toLowerCase().replace(/\.$/, '');
  if (AWS_SERVICE_HOST.test(name)) return new URL(name.startsWith('dynamodb.') ? services.dynamodb : services.origin);
  const loopback = name === 'localhost' || name === '127.0.0.1' || name === '[::1]' || name === origin.hostname;
  return loopback && port === origin.port ? origin : undefined;
}

type Callback = (res: IncomingMessage) => void;

/** The options of any `https.request(...)` call form: (options[, cb]) or (url[, options][, cb]). */
function normalize(args: unknown[]): { options: RequestOptions; callback?: Callback } {
  const [first, second, third] = args;
  if (typeof first === 'string' || first instanceof URL) {
    const url = new URL(first);
    const base: RequestOptions = { protocol: url.protocol, hostname: url.hostname, port: url.port, path: `${url.pathname}${url.search}` };
    return typeof second === 'function'
      ? { options: base, callback: second as Callback }
      : { options: { ...base, ...(second as RequestOptions | undefined) }, callback: third as Callback | undefined };
  }
  return { options: { ...(first as RequestOptions | undefined) }, callback: second as Callback | undefined };
}

/** Installs the redirection in this sandbox (once). */
export function redirectAwsCalls(services: LocalServices): void {
  const original = https.request.bind(https);
  const agent = new http.Agent({ keepAlive: true });
  const request = (...args: unknown[]): ClientRequest => {
    const { options, callback } = normalize(args);
    const host = options.hostname ?? options.host?.replace(/:\d+$/, '') ?? 'localhost';
    const target = localTarget(host, String(options.port ?? 443), services);
    if (!target) return (original as (...a: unknown[]) => ClientRequest)(...args);
    const { host: _host, hostname: _hostname, port: _port, agent: _agent, protocol: _protocol, headers, ...rest } = options;
    // The signed Host stays (the SDK sends it; anything else gets the one it asked for).
    const withHost =
      headers && !Array.isArray(headers) && Object.keys(headers).some((k) => k.toLowerCase() === 'host')
        ? headers
        : {
            ...(Array.isArray(headers) ? {} : headers),
            host: options.port && String(options.port) !== '443' ? `${host}:${String(options.port)}` : host,
          };
    return http.request({ ...rest, headers: withHost, protocol: 'http:', hostname: target.hostname, port: target.port, agent }, callback);
  };
  https.request = request as typeof https.request;
  syncBuiltinESMExports();
}
