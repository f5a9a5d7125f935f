/**
 * One visit to one room: connects (again after every drop), has history read (catch-up.ts),
 * keeps messages unique by id, and tracks the page's own messages until their echo. Its own
 * messages go with a clientId, so resending one is always safe. It follows members and
 * presence, moderation (removed messages, a ban) and the server's errors.
 */
import { CatchUp } from './catch-up';
import { ReconnectingSocket, type CloseInfo } from './connection';
import { MemberList, noticesOf } from './members';
import { DEFAULT_MAX_MESSAGE_BYTES, CHAT_V1, newClientId, normalizeText, parseServerFrame, request, textProblem } from './protocol';
import type { ChatMessage, ClientRequest, ModerateRequest, ServerFrame } from './protocol';
import { TOKEN_SUBPROTOCOL_PREFIX, type Credentials } from './sign-in';
import type { ChatView } from './chat-view';
import { Ownership } from './own';
import { Outbox, Timeline, type Pending } from './timeline';

export interface SessionOptions {
  wsUrl: string;
  room: string;
  /** The name asked for with `?name=`; with credentials, the server takes the token's instead. */
  name: string;
  /** When the server authenticates (sign-in.ts): the token goes as a subprotocol, never in the URL. */
  credentials?: Credentials;
  maxMessageBytes?: number;
}

const CONFIRM_TIMEOUT_MS = 10_000;
/**
 * Sends of one message before the page says "Not sent": each resend has the same clientId,
 * so the server stores it once and answers a repeat with the original.
 */
const MAX_SENDS = 3;
const KEEPALIVE_MS = 5 * 60_000;
const SEND_ERRORS = new Set(['message_too_long', 'rate_limited']);
/** Refusals of a moderation action: they concern no message being sent. */
const MODERATION_ERRORS = new Set(['forbidden', 'not_found']);
/** Reconnects in a row after `not_connected` before the page gives up and says so. */
const MAX_REREGISTER = 3;

export class ChatSession {
  readonly maxMessageBytes: number;
  private readonly socket: ReconnectingSocket;
  private readonly timeline = new Timeline();
  private readonly outbox = new Outbox();
  private readonly ownership: Ownership;
  private synced = false;
  private connections = 0;
  private lastSend = 0;
  private readonly members = new MemberList(() => ({
    name: this.name,
    ...(this.options.credentials && { userId: this.options.credentials.userId }),
  }));
  private keepaliveTimer: number | undefined;
  private notConnectedStreak = 0;
  private notConnectedOn = 0;
  private readonly catchUp = new CatchUp(this.timeline, (body) => this.request(body));
  private banned = false;

  constructor(
    private readonly options: SessionOptions,
    private readonly view: ChatView,
  ) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.ownership = new Ownership(options.room, options.credentials?.userId);
    const url = new URL(options.wsUrl);
    url.searchParams.set('room', options.room);
    const { credentials } = options;
    if (!credentials) url.searchParams.set('name', options.name.trim());
    const protocols = async (): Promise<string[]> =>
      credentials ? [CHAT_V1, `${TOKEN_SUBPROTOCOL_PREFIX}${await credentials.token()}`] : [CHAT_V1];
    this.socket = new ReconnectingSocket(url.toString(), protocols, {
      onConnecting: (attempt) => this.view.setState('connecting', attempt > 1 ? `Reconnecting (attempt ${attempt})…` : 'Connecting…'),
      onOpen: () => this.onOpen(),
      onMessage: (data) => this.onFrame(data),
      onClose: (info) => this.onClose(info),
    });
  }

  get name(): string {
    return this.options.credentials?.name ?? this.options.name.trim();
  }

  start(): void {
    this.socket.start();
    this.keepaliveTimer = window.setInterval(() => {
      if (Date.now() - this.lastSend > KEEPALIVE_MS - 1000) this.requestMembers();
    }, KEEPALIVE_MS);
  }

  stop(): void {
    window.clearInterval(this.keepaliveTimer);
    this.socket.stop();
  }

  /** For tests and the debug hook: drops the connection as a network failure would. */
  drop(): void {
    this.socket.drop();
  }

  /** Skips the backoff wait; after a ban, tries the room again (refused while the ban lasts). */
  retryNow(): void {
    if (!this.banned) return this.socket.retryNow();
    this.banned = false;
    this.socket.start();
  }

  /** Why a text cannot be sent, or null. */
  problemWith(text: string): string | null {
    return textProblem(text, this.maxMessageBytes);
  }

  send(text: string): boolean {
    if (this.problemWith(text) !== null) return false;
    const item = this.outbox.add(normalizeText(text), newClientId());
    this.view.showPending(item);
    this.flushItem(item);
    return true;
  }

  retry(localId: string): void {
    const item = this.outbox.get(localId);
    if (!item || item.status !== 'failed') return;
    item.status = 'queued';
    item.retriedAt = item.sends;
    delete item.error;
    this.view.showPending(item);
    this.flushItem(item);
  }

  /** A moderator's action in this room (the server refuses it with `forbidden` for anyone else). */
  moderate(body: Exclude<ModerateRequest, { op: 'check' }>): boolean {
    return this.request(request.moderate(body));
  }

  loadOlder(): void {
    this.catchUp.older();
  }

  // ------------------------------------------------------------------ events

  private onOpen(): void {
    this.connections += 1;
    this.synced = false;
    this.view.setSynced(false);
    this.view.setState('connected', 'Connected');
    this.requestMembers();
    // Signed in, the server may know this person as a moderator; without sign-in nobody is one.
    if (this.options.credentials) this.request(request.moderate({ op: 'check' }));
    this.catchUp.begin();
  }

  private onClose(info: CloseInfo): void {
    this.unsync();
    const seconds = Math.max(1, Math.round(info.retryInMs / 1000));
    const why = !navigator.onLine
      ? 'You are offline.'
      : info.wasOpen
        ? 'Connection lost.'
        : info.code === 4401
          ? info.reason
          : 'Could not connect.';
    this.view.setState('disconnected', `${why} Retrying in ${seconds}s…`);
  }

  /** The connection is gone: a later one catches up from a point safely before what a drop may have cut short. */
  private unsync(): void {
    this.catchUp.end(this.synced);
    this.synced = false;
    this.view.setSynced(false);
  }

  private onFrame(data: string): void {
    const frame = parseServerFrame(data);
    if (!frame) {
      // A plain-text error on a chat.v1 socket: the server no longer knows this connection
      // (nor so its format). Reconnecting registers it again.
      if (data.startsWith('Error: ')) this.onNotConnected(data.slice('Error: '.length));
      else this.view.showNotice('info', data);
      return;
    }
    this.handle(frame);
  }

  private handle(frame: ServerFrame): void {
    switch (frame.type) {
      case 'message':
        this.addMessage(frame, true);
        if (this.synced) this.catchUp.seekGaps(false);
        break;
      case 'history':
        this.onHistory(frame.messages, frame.hasMore);
        break;
      case 'members':
        if (this.members.addPage(frame.members, frame.hasMore)) this.view.setMembers(this.members.list());
        else if (frame.next !== undefined) this.request(request.members(frame.next));
        break;
      case 'presence': {
        // The member list follows presence itself: no members request per join or leave.
        const changes = 'changes' in frame ? frame.changes : [frame];
        for (const change of changes) this.members.apply(change);
        this.view.setMembers(this.members.list());
        for (const { event, name } of noticesOf(changes)) this.view.showNotice(event, `${name} ${event === 'join' ? 'joined' : 'left'}`);
        if (('incomplete' in frame && frame.incomplete) || this.members.overlapsListing()) this.requestMembers(true);
        break;
      }
      case 'deleted':
        if (frame.room === this.options.room) this.markDeleted(frame.id);
        break;
      case 'moderation':
        if (frame.op === 'check') this.view.setModerator(frame.moderator);
        else this.view.showModeration(frame);
        break;
      case 'error':
        this.onError(frame.code, frame.message);
        break;
      // `info` (the $default route's answer) changes nothing.
    }
  }

  private addMessage(received: ChatMessage & { clientId?: string }, live: boolean): void {
    const message = this.timeline.asKept(received);
    const confirmed = this.confirms(message);
    if (confirmed) {
      this.view.removePending(confirmed.localId);
      this.notConnectedStreak = 0;
    }
    const own = this.ownership.isOwn(message, confirmed !== undefined);
    const beforeId = this.timeline.add(message);
    if (beforeId !== false) this.view.showMessage(message, { beforeId, own, live });
    // Held already, and history now says it was deleted (the `deleted` frame was missed).
    else if (message.deleted === true) this.markDeleted(message.id);
  }

  private markDeleted(id: string): void {
    if (this.timeline.remove(id)) this.view.markDeleted(id);
  }

  /**
   * The outbox item a message settles: the one with its clientId (the server's confirmation),
   * else (found in history: the confirmation was lost with the connection) the oldest item
   * already sent with its text, when its sender may be this page's (own.ts).
   */
  private confirms(message: ChatMessage & { clientId?: string }): Pending | undefined {
    if (message.clientId !== undefined && message.backend !== true) return this.outbox.confirm(message);
    return this.ownership.maySettle(message, this.name) ? this.outbox.confirm(message) : undefined;
  }

  private onHistory(messages: ChatMessage[], hasMore: boolean): void {
    for (const message of messages) this.addMessage(message, false);
    const { synced, hasOlder } = this.catchUp.page(messages, hasMore);
    if (hasOlder !== undefined) this.view.setHasOlder(hasOlder);
    if (synced) this.onSynced();
  }

  private onSynced(): void {
    this.synced = true;
    if (this.outbox.with('queued').length === 0) this.notConnectedStreak = 0;
    this.view.setSynced(true);
    // Sent on a connection that dropped and not found in the catch-up: sent again, with its clientId.
    for (const item of this.outbox.with('sent')) {
      if (item.connection !== this.connections) item.status = 'queued';
    }
    for (const item of this.outbox.with('queued')) this.flushItem(item);
    this.catchUp.seekGaps(true);
  }

  private onError(code: string, message: string): void {
    if (code === 'not_connected') return this.onNotConnected(message);
    if (code === 'banned') return this.onBanned(message);
    if (MODERATION_ERRORS.has(code)) return this.view.showNotice('error', message);
    const sent = this.outbox.with('sent')[0];
    if (sent && (SEND_ERRORS.has(code) || !this.catchUp.loading)) {
      this.fail(sent, message);
      return;
    }
    if (this.catchUp.loading) {
      const wasCatchUp = this.catchUp.refused();
      this.view.showNotice('error', `Could not load history: ${message}`);
      if (wasCatchUp) this.onSynced();
      return;
    }
    this.view.showNotice('error', message);
  }

  /**
   * A moderator banned this person from the room and the server closes the connection: the
   * page says why and stays out (a reconnect would be refused while the ban lasts) until the
   * person asks to try again. What was waiting to be sent stays in the outbox.
   */
  private onBanned(message: string): void {
    this.banned = true;
    this.socket.stop();
    this.unsync();
    this.view.setState('banned', `${message[0]?.toUpperCase() ?? ''}${message.slice(1)}.`);
  }

  /**
   * The server lost this connection's registration: nothing the page sent on it was
   * stored, so it reconnects, catches up and sends again (a few times, then it says so).
   */
  private onNotConnected(message: string): void {
    if (this.notConnectedOn === this.connections) return; // Once per connection: it is going anyway.
    this.notConnectedOn = this.connections;
    this.notConnectedStreak += 1;
    if (this.notConnectedStreak > MAX_REREGISTER) {
      this.view.showNotice('error', message);
      for (const item of this.outbox.with('sent')) this.fail(item, message);
      return;
    }
    for (const item of this.outbox.with('sent')) item.status = 'queued';
    this.socket.drop();
  }

  // ---------------------------------------------------------------- requests

  private flushItem(item: Pending): void {
    if (!this.synced || !this.request(request.send(item.text, item.clientId))) return;
    item.status = 'sent';
    item.connection = this.connections;
    item.sends += 1;
    const sends = item.sends;
    this.view.showPending(item);
    window.setTimeout(() => {
      if (item.status !== 'sent' || item.sends !== sends || !this.outbox.get(item.localId)) return;
      if (item.sends - (item.retriedAt ?? 0) >= MAX_SENDS) {
        this.fail(item, 'No confirmation from the server.');
        return;
      }
      item.status = 'queued';
      this.flushItem(item);
    }, CONFIRM_TIMEOUT_MS);
  }

  private fail(item: Pending, error: string): void {
    item.status = 'failed';
    item.error = error;
    this.view.showPending(item);
  }

  /** Reads the member list afresh, page by page (the pages follow as their answers come). */
  private requestMembers(recheck = false): void {
    if (this.request(request.members())) this.members.startListing(recheck);
  }

  private request(body: ClientRequest): boolean {
    const sent = this.socket.send(JSON.stringify(body));
    if (sent) this.lastSend = Date.now();
    return sent;
  }
}
