/**
 * Who may knock at the local runtime: each of its listeners (the WebSocket API, the chat page,
 * `@connections` and SQS on the runtime's port; the store on DYNAMODB_PORT) answers only requests
 * addressed to it by an address it listens on (`Host`), and from a browser only those of its own
 * pages (`Origin`). So a web page of another site, open in the developer's browser, can neither
 * call it (cross-site requests) nor read it by pointing a domain name of its own at 127.0.0.1
 * (DNS rebinding). Clients that are not browsers send no `Origin` and are not concerned.
 *
 *   Host    127.0.0.1, localhost or [::1] with the listener's port; the --host address with it
 *           (any IP address when listening on all interfaces); a name of --allow-host, any port;
 *           for API calls (not WebSocket upgrades) the AWS endpoint name a function's request
 *           was signed for (execute-api, DynamoDB, SQS), which sandbox-redirect.ts sends here
 *   Origin  none; the request's own host (same origin); one of the hosts above; for the
 *           WebSocket API also an origin of --allow-origin (a front-end dev server, ...)
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { AWS_SERVICE_HOST } from '../lambda/sandbox-redirect.js';

export interface DoorOptions {
  /** The interface the runtime listens on (its --host). */
  host: string;
  /** More host names it answers to, on any port (a tunnel's or a proxy's name). */
  allowedHosts?: readonly string[];
  /** More page origins the WebSocket API accepts, e.g. http://localhost:5173 (a front-end dev server). */
  allowedOrigins?: readonly string[];
}

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];

/** `name[:port]` of a Host header (or of an origin): the name in lower case, the port if given. */
function splitHost(value: string): { name: string; port?: number } | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]/\s]+)(?::(\d{1,5}))?$/i.exec(value);
  if (!m) return undefined;
  return { name: (m[1] as string).toLowerCase(), ...(m[2] === undefined ? {} : { port: Number(m[2]) }) };
}

const normalizeOrigin = (origin: string): string => origin.trim().toLowerCase().replace(/\/+$/, '');

/** An --allow-origin value, checked: scheme, host and port only (as browsers send Origin). */
function allowedOrigin(value: string): string {
  const normalized = normalizeOrigin(value);
  let url: URL | undefined;
  try {
    url = new URL(normalized);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== normalized) {
    throw new Error(`--allow-origin expects an origin such as http://localhost:5173 (scheme, host and port, no path), got "${value}"`);
  }
  return normalized;
}

/** An --allow-host value, checked: a host name or address, without scheme or port. */
function allowedHost(value: string): string {
  const parsed = splitHost(value.trim());
  if (!parsed || parsed.port !== undefined)
    throw new Error(`--allow-host expects a host name such as my-box.local (no scheme, no port), got "${value}"`);
  return parsed.name;
}

export class Doors {
  private readonly names: Set<string>;
  private readonly anyAddress: boolean;
  private readonly extraHosts: Set<string>;
  private readonly extraOrigins: Set<string>;

  constructor(options: DoorOptions) {
    const host = options.host.toLowerCase();
    this.anyAddress = host === '' || host === '0.0.0.0' || host === '::';
    this.names = new Set([...LOOPBACK, ...(this.anyAddress ? [] : [host.includes(':') ? `[${host}]` : host])]);
    this.extraHosts = new Set((options.allowedHosts ?? []).map(allowedHost));
    this.extraOrigins = new Set((options.allowedOrigins ?? []).map(allowedOrigin));
  }

  /** The hosts a listener on `port` answers to, for messages. */
  describe(port: number): string {
    const names = [...this.names].map((n) => `${n}:${port}`);
    if (this.anyAddress) names.push(`any IP address:${port}`);
    return [...names, ...this.extraHosts].join(', ');
  }

  /** True when `host` (a Host header's value) names this runtime's listener on `port`. */
  private isOwnHost(host: string, port: number, defaultPort: number): boolean {
    const parsed = splitHost(host);
    if (!parsed) return false;
    if (this.extraHosts.has(parsed.name)) return true;
    const known = this.names.has(parsed.name) || (this.anyAddress && isIP(parsed.name.replace(/^\[|\]$/g, '')) !== 0);
    return known && (parsed.port ?? defaultPort) === port;
  }

  /** True when a page of `origin` may call the listener on `port` that `host` names. */
  private isOwnOrigin(origin: string, host: string, port: number, webSocket: boolean): boolean {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false; // "null" (a sandboxed frame, a file) and anything that is not an origin
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    if (url.host.toLowerCase() === host.toLowerCase()) return true;
    if (this.isOwnHost(url.host, port, url.protocol === 'https:' ? 443 : 80)) return true;
    return webSocket && this.extraOrigins.has(normalizeOrigin(origin));
  }

  /**
   * Why the request may not come in (a foreign Host or Origin), or undefined when it may.
   * `webSocket`: an upgrade to the WebSocket API, which --allow-origin opens to more pages.
   */
  refusal(req: IncomingMessage, webSocket = false): string | undefined {
    const port = req.socket.localPort ?? 0;
    const host = req.headers.host;
    // A function's SDK call sent here by sandbox-redirect.ts keeps the AWS host it was signed
    // for. No page can be served under such a name from here: its DNS is Amazon's.
    const awsCall = !webSocket && host !== undefined && AWS_SERVICE_HOST.test(host);
    if (host === undefined || (!awsCall && !this.isOwnHost(host, port, 80))) {
      return `Host ${host === undefined ? '(none)' : `'${host}'`} is not an address of this runtime (it answers to ${this.describe(port)}; --allow-host adds a name)`;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !this.isOwnOrigin(origin, host, port, webSocket)) {
      return webSocket
        ? `Origin '${origin}' may not connect (pages of this runtime may; start it with --allow-origin ${origin} to admit that page)`
        : `Origin '${origin}' may not call this runtime (only its own pages may)`;
    }
    return undefined;
  }
}
