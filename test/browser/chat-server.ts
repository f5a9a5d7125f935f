/**
 * The server the browser tests run against. Switching between the stand-in and the
 * real local runtime is the one line marked below.
 */
import { startFakeChatServer } from './fake-chat-server';

export interface ChatServer {
  /** ws://127.0.0.1:<port>/production */
  wsUrl: string;
  /** http://127.0.0.1:<port>/ (serves the chat page) */
  httpUrl: string;
  close(): Promise<void>;
}

export const startChatServer = (): Promise<ChatServer> => startFakeChatServer(); // the line to switch
