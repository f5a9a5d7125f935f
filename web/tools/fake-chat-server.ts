/**
 * A small stand-in for the local runtime, speaking the chat.v1 protocol of SPEC §4 over
 * `ws`, and serving the chat page from web/build.ts. The browser tests can run against
 * it or against the real runtime (see ./chat-server.ts); the screenshots use it for a
 * conversation with realistic timestamps.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { monotonicFactory } from 'ulid';
import { WebSocket, WebSocketServer } from 'ws';
import { CONTROL_CHARACTERS, MAX_NAME_LENGTH, ROOM_PATTERN, CHAT_V1 } from 'chat-core/wire';
import { buildChatPage } from '../build';

export interface StoredMessage {
  id: string;
  room: string;
  name: string;
  text: string;
  sentAt: string;
}

export interface FakeChatServer {
  wsUrl: string;
  httpUrl: string;
  close(): Promise<void>;
  /** Stores a message as if someone had sent it at `sentAt`, and delivers it to the room. */
  post(room: string, name: string, text: string, sentAt?: Date): StoredMessage;
  /** Closes every connection abruptly, as a network failure would. */
  dropAll(): void;
}

interface Client {
  socket: WebSocket;
  room: string;
  name: string;
  json: boolean;
}

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const MAX_MESSAGE_BYTES = 4096;
const STAGE = 'production';

export async function startFakeChatServer(): Promise<FakeChatServer> {
  const page = await buildChatPage();
  const nextId = monotonicFactory();
  const messages = new Map<string, StoredMessage[]>();
  const clients = new Set<Client>();

  const server = http.createServer((req, res) => {
    const file = page.get(new URL(req.url ?? '/', 'http://localhost').pathname);
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      return;
    }
    res.writeHead(200, { 'content-type': file.contentType, 'cache-control': 'no-store' }).end(file.body);
  });
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has(CHAT_V1) ? CHAT_V1 : false),
  });

  const inRoom = (room: string) => [...clients].filter((client) => client.room === room);
  const deliver = (client: Client, frame: Record<string, unknown>, plain?: string) => {
    if (client.socket.readyState !== WebSocket.OPEN) return;
    if (client.json) client.socket.send(JSON.stringify(frame));
    else if (plain !== undefined) client.socket.send(plain);
  };
  const fail = (client: Client, code: string, message: string) => deliver(client, { type: 'error', code, message }, `Error: ${message}`);

  function post(room: string, name: string, text: string, sentAt = new Date()): StoredMessage {
    const message = { id: nextId(sentAt.getTime()), room, name, text, sentAt: sentAt.toISOString() };
    const list = messages.get(room) ?? [];
    list.push(message);
    list.sort((a, b) => (a.id < b.id ? -1 : 1));
    messages.set(room, list);
    for (const client of inRoom(room)) deliver(client, { type: 'message', ...message }, text);
    return message;
  }

  function history(client: Client, body: Record<string, unknown>): void {
    const { limit = 50, before, after } = body;
    const validId = (id: unknown) => id === undefined || (typeof id === 'string' && ULID.test(id));
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 100) {
      return fail(client, 'invalid_request', 'limit: must be an integer from 1 to 100');
    }
    if (!validId(before) || !validId(after) || (before !== undefined && after !== undefined)) {
      return fail(client, 'invalid_request', 'before/after: must be one message id');
    }
    const all = messages.get(client.room) ?? [];
    let page: StoredMessage[];
    let hasMore: boolean;
    if (typeof after === 'string') {
      const newer = all.filter((message) => message.id > after);
      page = newer.slice(0, limit);
      hasMore = newer.length > limit;
    } else {
      const older = typeof before === 'string' ? all.filter((message) => message.id < before) : all;
      page = older.slice(-limit);
      hasMore = older.length > limit;
    }
    deliver(client, { type: 'history', room: client.room, messages: page, hasMore });
  }

  function onFrame(client: Client, data: string): void {
    let body: unknown;
    try {
      body = JSON.parse(data);
    } catch {
      return fail(client, 'invalid_json', 'the frame is not valid JSON');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return fail(client, 'invalid_request', 'the frame must be a JSON object');
    }
    const request = body as Record<string, unknown>;
    switch (request.action) {
      case 'sendmessage': {
        const text = request.message;
        if (typeof text !== 'string' || text === '') return fail(client, 'invalid_request', 'message must be a string');
        const bytes = Buffer.byteLength(text);
        if (bytes > MAX_MESSAGE_BYTES) {
          return fail(client, 'message_too_long', `message is ${bytes} bytes; the limit is ${MAX_MESSAGE_BYTES}`);
        }
        post(client.room, client.name, text);
        return;
      }
      case 'history':
        return history(client, request);
      case 'members':
        return deliver(client, {
          type: 'members',
          room: client.room,
          members: inRoom(client.room).map(({ name }) => ({ name })),
          hasMore: false,
        });
      default:
        return deliver(client, { type: 'info', message: 'Use the sendmessage route to send a message.' });
    }
  }

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const room = url.searchParams.get('room') ?? 'lobby';
    const name = (url.searchParams.get('name') ?? 'guest').trim();
    const nameOk = name.length > 0 && [...name].length <= MAX_NAME_LENGTH && !CONTROL_CHARACTERS.test(name);
    if (url.pathname !== `/${STAGE}` || !ROOM_PATTERN.test(room) || !nameOk) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const client: Client = { socket: ws, room, name, json: ws.protocol === CHAT_V1 };
      for (const other of inRoom(room)) deliver(other, { type: 'presence', event: 'join', room, name });
      clients.add(client);
      ws.on('message', (data, isBinary) => {
        if (isBinary) ws.close(1003, 'binary frames are not supported');
        else onFrame(client, data.toString('utf8'));
      });
      ws.on('close', () => {
        clients.delete(client);
        for (const other of inRoom(room)) deliver(other, { type: 'presence', event: 'leave', room, name });
      });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    wsUrl: `ws://127.0.0.1:${port}/${STAGE}`,
    httpUrl: `http://127.0.0.1:${port}/`,
    post,
    dropAll: () => {
      for (const client of clients) client.socket.terminate();
    },
    close: async () => {
      for (const client of clients) client.socket.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
