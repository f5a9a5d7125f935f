/**
 * `npm run moderate`: a room's moderation through the stack's backend HTTP API (POST /moderation,
 * IAM authorization) or the local runtime's (--local): delete a message, ban a user (their
 * connections to the room are closed, and they cannot join it again until the ban ends), unban.
 *
 *   npm run moderate -- delete --room lobby --id 01HQ3Z9V5X8G2M4N6P7R8S9T0V
 *   npm run moderate -- ban --room lobby --user sub-1 --for 2h
 *   npm run moderate -- unban --room lobby --user sub-1 --local
 */
import { main, parseCommandLine, required, UsageError, type BackendCommand } from './backend-client';

export type ModerationBody =
  | { op: 'delete'; room: string; id: string }
  | { op: 'ban'; room: string; user: string; for?: string }
  | { op: 'unban'; room: string; user: string };

export const MODERATE_USAGE = `Usage: npm run moderate -- delete --room ROOM --id MESSAGE_ID [endpoint options]
       npm run moderate -- ban    --room ROOM --user SUB [--for DURATION] [endpoint options]
       npm run moderate -- unban  --room ROOM --user SUB [endpoint options]

Deletes a message of ROOM, or bans (unbans) the user of that subject (the token's sub) from it
(POST <BackendApiUrl>/moderation, signed with SigV4). DURATION: 90s, 30m, 2h, 7d or a number of
seconds (without --for: the backend's default).
`;

/** 90s, 30m, 2h, 7d, or a whole number of seconds; more than zero. */
const DURATION = /^([1-9]\d*)([smhd])?$/;

export function checkDuration(value: string): string {
  if (!DURATION.test(value)) {
    throw new UsageError(`--for ${JSON.stringify(value)} is not a duration: give 90s, 30m, 2h, 7d or a number of seconds (more than 0)`);
  }
  return value;
}

const OPTIONS_OF = { delete: ['id'], ban: ['user', 'for'], unban: ['user'] } as const;
type Op = keyof typeof OPTIONS_OF;

export function parseModerateArgs(argv: string[]): ReturnType<BackendCommand<ModerationBody>['parse']> {
  const { values, positionals, endpoint, help } = parseCommandLine(
    argv,
    { room: { type: 'string' }, id: { type: 'string' }, user: { type: 'string' }, for: { type: 'string' } },
    true,
  );
  if (help) return 'help';
  const [op, ...extra] = positionals;
  if (op === undefined) throw new UsageError('which operation: delete, ban or unban?');
  if (!Object.hasOwn(OPTIONS_OF, op)) throw new UsageError(`unknown operation ${JSON.stringify(op)}: delete, ban or unban`);
  if (extra.length > 0) throw new UsageError(`unexpected argument: ${extra[0]}`);
  const allowed: readonly string[] = OPTIONS_OF[op as Op];
  const foreign = ['id', 'user', 'for'].find((name) => values[name] !== undefined && !allowed.includes(name));
  if (foreign) throw new UsageError(`${op} takes no --${foreign}`);
  const room = required(values, 'room');
  let body: ModerationBody;
  if (op === 'delete') body = { op, room, id: required(values, 'id') };
  else if (op === 'unban') body = { op, room, user: required(values, 'user') };
  else {
    body = { op: 'ban', room, user: required(values, 'user') };
    if (values.for !== undefined) body.for = checkDuration(String(values.for));
  }
  return { endpoint, body };
}

export const MODERATE: BackendCommand<ModerationBody> = {
  name: 'moderate',
  usage: MODERATE_USAGE,
  route: 'moderation',
  parse: parseModerateArgs,
};

main(MODERATE, import.meta.url);
