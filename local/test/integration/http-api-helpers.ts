/** For the HTTP API tests: the fixture template, one raw request, and SigV4-signed headers as the SDK makes them. */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { localSigner } from '../../src/index';
import { FIXTURE_TEMPLATE } from '../helpers';

export const HTTP_TEMPLATE = join(FIXTURE_TEMPLATE, '..', 'http-api.yaml');

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP request, headers exactly as given. */
export function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The headers of a request to `url` signed for execute-api as the SDK signs it (for the Host `host` if given). */
export async function signedHeaders(
  url: string,
  body: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  method = 'POST',
  host?: string,
): Promise<Record<string, string>> {
  const target = new URL(url);
  const query: Record<string, string[]> = {};
  for (const [name, value] of target.searchParams) (query[name] ??= []).push(value);
  const signed = await localSigner(credentials, 'execute-api', 'eu-west-1').sign({
    method,
    protocol: 'http:',
    hostname: host ?? target.hostname,
    ...(host === undefined && { port: Number(target.port) }),
    path: target.pathname,
    query,
    headers: { host: host ?? target.host, 'content-type': 'application/json' },
    body,
  });
  return Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k, String(v)]));
}
