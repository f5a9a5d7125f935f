/**
 * Route selection as API Gateway does it: the message is parsed as JSON, the API's route
 * selection expression ($request.body.action, or ${request.body.x} templates) is evaluated, and
 * a route key that matches a route is chosen; anything else goes to $default.
 */

const RESERVED = new Set(['$connect', '$disconnect', '$default']);

function lookup(body: unknown, path: string): unknown {
  let value: unknown = body;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function scalar(value: unknown): string | undefined {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
}

/** The route key an expression selects for a message body, or undefined when it selects none. */
export function evaluateSelection(expression: string, body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const whole = /^\$request\.body\.(.+)$/.exec(expression.trim());
  if (whole) return scalar(lookup(parsed, whole[1] as string));
  let missing = false;
  const key = expression.replace(/\$\{request\.body\.([^}]+)\}/g, (_m, path: string) => {
    const value = scalar(lookup(parsed, path));
    if (value === undefined) missing = true;
    return value ?? '';
  });
  return missing || key === expression ? undefined : key;
}

/** The route a message goes to: the selected key when it is a route, else $default (undefined when there is none). */
export function selectRoute(expression: string, body: string, routeKeys: Set<string> | Map<string, unknown>): string | undefined {
  const key = evaluateSelection(expression, body);
  if (key !== undefined && !RESERVED.has(key) && routeKeys.has(key)) return key;
  return routeKeys.has('$default') ? '$default' : undefined;
}
