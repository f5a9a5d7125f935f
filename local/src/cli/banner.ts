/** Lines of the start-up banner (start.ts) that can be told apart from the process that prints them. */
import type { HttpRouteInfo } from '../httpapi/http-api.js';

/**
 * One line per HTTP route, labelled with its event's name:
 * `  Publish         http://localhost:3001/backend/messages   (POST → PublishFunction, AWS_IAM)`.
 * `shown`: the URL as the banner shows it (localhost for 127.0.0.1).
 */
export function httpRouteLines(routes: readonly HttpRouteInfo[], shown: (url: string) => string = (url) => url): string[] {
  return routes.map((r) => {
    const label = r.eventName.length < 16 ? r.eventName.padEnd(16) : `${r.eventName} `;
    const method = r.routeKey === '$default' ? '$default' : r.method;
    return `  ${label}${shown(r.url)}   (${method} → ${r.functionId}, ${r.authorization})`;
  });
}
