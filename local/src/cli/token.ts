/**
 * `npm run token -- --name alice [--rooms a,b] [--expires-in SECONDS] [--sub ID]`: an ID token
 * of the template's Cognito user pool, signed with this project folder's local key
 * (local/src/cognito/token-issuer.ts), so it is valid for every `npm start` from this folder whose
 * template has the pool (`--parameter-overrides AuthMode=cognito`). The token is the last
 * line of the output:
 *
 *   wscat -c "ws://localhost:3001/production?token=$(npm run --silent token -- --name alice | tail -1)"
 */
import { parseArgs } from 'node:util';
import { loadTemplate } from '../template/template.js';
import { LocalTokenIssuer, tokenRequestProblems, type TokenRequest } from '../cognito/token-issuer.js';

const HELP = `Usage: npm run token -- --name <name> [options]

  --name <name>             the display name (claims name and cognito:username)
  --rooms <a,b>             the rooms the token allows (Cognito groups); default: any room
  --expires-in <seconds>    default 3600; negative for a token that has expired already
  --sub <id>                the subject (user id); default: a new one, so each token is another person
  --template <file>         SAM template (default: template.yaml)
  --help

The token is valid for npm start from this folder with the template's user pool
(npm start -- --parameter-overrides AuthMode=cognito). It is the last line printed.
`;

function request(values: { name?: string; rooms?: string; 'expires-in'?: string; sub?: string }): TokenRequest {
  const rooms =
    values.rooms === undefined
      ? undefined
      : values.rooms
          .split(',')
          .map((r) => r.trim())
          .filter(Boolean);
  const expires = values['expires-in'];
  const wanted = {
    name: values.name,
    ...(rooms !== undefined && { rooms }),
    ...(expires !== undefined && { expiresInSeconds: /^-?\d+$/.test(expires) ? Number(expires) : Number.NaN }),
    ...(values.sub !== undefined && { sub: values.sub }),
  };
  const problems = tokenRequestProblems(wanted).map((p) =>
    p
      .replace(/^name/, '--name')
      .replace(/^rooms/, '--rooms')
      .replace(/^expiresInSeconds/, '--expires-in')
      .replace(/^sub/, '--sub'),
  );
  if (problems.length > 0) throw new Error(problems.join('; '));
  return wanted as TokenRequest;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      name: { type: 'string' },
      rooms: { type: 'string' },
      'expires-in': { type: 'string' },
      sub: { type: 'string' },
      template: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const templatePath = values.template ?? 'template.yaml';
  const wanted = request(values);
  // Every resource, whatever its condition: a user pool's local ids do not depend on parameters.
  const model = await loadTemplate(templatePath, { includeConditionalResources: true });
  const issuer = await LocalTokenIssuer.forTemplate(model);
  if (!issuer) throw new Error(`${model.path} declares no Cognito user pool with an app client: there is nothing to issue tokens for`);
  const issued = await issuer.issue(wanted);
  const rooms = wanted.rooms?.length ? wanted.rooms.join(', ') : 'any';
  process.stdout.write(
    [
      `ID token for ${wanted.name.trim()} (sub ${issued.sub}), rooms: ${rooms}, expires ${issued.expiresAt}`,
      `issuer ${issued.issuer}, audience ${issued.audience}`,
      issued.token,
      '',
    ].join('\n'),
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`npm run token: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
