/**
 * The server the browser tests run against: the real local runtime (`npm start`'s), or
 * with BROWSER_TEST_SERVER=fake the stand-in of ./fake-chat-server.ts, which needs no
 * build of the functions and helps tell a page bug from a server bug.
 */
import { startLocalRuntime } from '../../local/index';
import { startFakeChatServer } from './fake-chat-server';

export interface ChatServer {
  /** ws://127.0.0.1:<port>/production */
  wsUrl: string;
  /** http://127.0.0.1:<port>/ (serves the chat page) */
  httpUrl: string;
  close(): Promise<void>;
}

export const startChatServer = (): Promise<ChatServer> =>
  process.env.BROWSER_TEST_SERVER === 'fake'
    ? startFakeChatServer()
    : startLocalRuntime({ port: 0, dynamodbPort: 0, quiet: true });
