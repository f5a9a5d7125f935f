/**
 * The server the browser tests run against: the real local runtime (`npm start`'s), or
 * with BROWSER_TEST_SERVER=fake the stand-in of web/tools/fake-chat-server.ts, which needs no
 * build of the functions and helps tell a page bug from a server bug.
 */
import { startLocalRuntime } from '../../local/src/index';
import { buildChatPage } from '../../web/build';
import { startFakeChatServer } from '../../web/tools/fake-chat-server';
import type { ChatServer } from './helpers';

export type { ChatServer };

export const startChatServer = (): Promise<ChatServer> =>
  process.env.BROWSER_TEST_SERVER === 'fake'
    ? startFakeChatServer()
    : startLocalRuntime({ port: 0, dynamodbPort: 0, quiet: true, page: buildChatPage });
