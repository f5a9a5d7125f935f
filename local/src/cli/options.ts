/** Command-line values shared by `npm start` (local/src/cli/start.ts) and `npm run invoke` (local/src/cli/invoke.ts). */

/**
 * `--parameter-overrides` values as `sam deploy` takes them: `Name=Value` pairs, repeated or
 * space-separated, optionally in the `ParameterKey=Name,ParameterValue=Value` form. Whether each
 * name is a parameter of the template is checked when the template is read (local/src/template/template.ts).
 */
export function parseParameterOverrides(values: readonly string[]): Record<string, string> {
  const pairs = values.flatMap((v) => v.split(/\s+/)).filter(Boolean);
  return Object.fromEntries(
    pairs.map((pair) => {
      const long = /^ParameterKey=([^,]+),ParameterValue=(.*)$/.exec(pair);
      if (long) return [long[1] as string, long[2] as string];
      const at = pair.indexOf('=');
      if (at < 1) throw new Error(`--parameter-overrides expects Name=Value, got "${pair}"`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

/** A port from an option or its environment variable (`name` in the error), or `fallback` when unset. */
export function portOf(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${name} must be a port number, got "${value}"`);
  return port;
}
