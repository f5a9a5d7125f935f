/**
 * `npm run publish`: posts a message to a room as the backend, through the stack's backend HTTP
 * API (POST /messages, IAM authorization) or the local runtime's (--local). Prints the stored
 * message as the API answers it; `repeat` is true when a message of that --id was already posted.
 *
 *   npm run publish -- --room lobby --text 'maintenance at 18:00' --name ops
 *   npm run publish -- --room lobby --text hi --local
 */
import { main, parseCommandLine, required, type BackendCommand } from './backend-client';

export interface PublishBody {
  room: string;
  text: string;
  name?: string;
  id?: string;
}

export const PUBLISH_USAGE = `Usage: npm run publish -- --room ROOM --text TEXT [--name NAME] [--id ID] [endpoint options]

Posts TEXT to ROOM as the backend (POST <BackendApiUrl>/messages, signed with SigV4). --name is
the sender's display name; --id makes the call idempotent (posting the same id again answers
"repeat": true and sends nothing new).
`;

export function parsePublishArgs(argv: string[]): ReturnType<BackendCommand<PublishBody>['parse']> {
  const { values, endpoint, help } = parseCommandLine(argv, {
    room: { type: 'string' },
    text: { type: 'string' },
    name: { type: 'string' },
    id: { type: 'string' },
  });
  if (help) return 'help';
  const body: PublishBody = { room: required(values, 'room'), text: required(values, 'text') };
  if (values.name !== undefined) body.name = required(values, 'name');
  if (values.id !== undefined) body.id = required(values, 'id');
  return { endpoint, body };
}

export const PUBLISH: BackendCommand<PublishBody> = {
  name: 'publish',
  usage: PUBLISH_USAGE,
  route: 'messages',
  parse: parsePublishArgs,
};

main(PUBLISH, import.meta.url);
