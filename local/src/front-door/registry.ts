/**
 * The runtime's one HTTP port, and the services behind it. Each service the runtime plays
 * registers itself (runtime.ts, in the order they are asked: the first whose `matches` says yes
 * serves the request); the port knows none of them. Every request passes the doors (doors.ts)
 * first. Until the runtime has registered every service (`open()`), requests are answered 503.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendAwsError } from '../core/http.js';
import type { RuntimeLog } from '../core/log.js';
import type { Doors } from './doors.js';

/** One emulated service on the port: which requests are its own, and how it answers them. */
export interface HttpService {
  /** For the log: sqs, management-api, http-api, ... */
  readonly name: string;
  matches(req: IncomingMessage, pathname: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> | void;
}

export class ServiceRegistry {
  private readonly services: HttpService[] = [];
  private opened = false;

  constructor(
    private readonly doors: Doors,
    private readonly log: RuntimeLog,
  ) {}

  register(...services: HttpService[]): void {
    this.services.push(...services);
  }

  /** Every service is registered: requests are served from now on. */
  open(): void {
    this.opened = true;
  }

  /** The port's request listener. */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    const refused = this.doors.refusal(req);
    if (refused) {
      req.resume();
      return sendAwsError(res, 'rest-json', { status: 403, code: 'ForbiddenException', message: `Forbidden: ${refused}` });
    }
    if (!this.opened) {
      req.resume();
      res.writeHead(503, { 'content-type': 'text/plain' }).end('Starting\n');
      return;
    }
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    const service = this.services.find((s) => s.matches(req, pathname));
    if (!service) {
      req.resume();
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
      return;
    }
    Promise.resolve()
      .then(() => service.handle(req, res, pathname))
      .catch((e: unknown) => {
        this.log.warn(`${service.name}: ${req.method} ${req.url}: ${(e as Error).message}`);
        sendAwsError(res, 'rest-json', { status: 500, code: 'InternalServerErrorException', message: 'Internal server error' });
      });
  };
}
