/**
 * One visit to one room: connects, loads recent history, catches up after every
 * reconnect (history `after` the last contiguous id, looping while `hasMore`), keeps
 * messages unique by id, and tracks the page's own messages until their echo. A live
 * message whose `prevId` the page does not hold shows it missed one: it catches up from
 * history at once. Its own messages go with a clientId, so resending one is always safe.
 */
import { ReconnectingSocket, type CloseInfo } from './connection';
import { MemberList, noticesOf } from './members';
import {
  BEGINNING,
  DEFAULT_MAX_MESSAGE_BYTES,
  CHAT_V1,
  newClientId,
  normalizeText,
  parseServerFrame,
  request,
  utf8Length,
} from './protocol';
import type { ChatMessage, ClientRequest, Member, ModerateRequest, ModerationResult, ServerFrame } from './protocol';
import { TOKEN_SUBPROTOCOL_PREFIX, type Credentials } from './sign-in';
import { OwnMessages } from './own';
import { Outbox, Timeline, type Pending } from './timeline';

/** `banned`: a moderator banned this person from the room; the page does not reconnect by itself. */
export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'banned';

export interface ChatView {
  setState(state: ConnectionState, detail: string): void;
  setSynced(synced: boolean): void;
  showMessage(message: ChatMessage, options: { beforeId: string | undefined; own: boolean; live: boolean }): void;
  showPending(item: Pending): void;
  removePending(localId: string): void;
  showNotice(kind: 'join' | 'leave' | 'error' | 'info', text: string): void;
  setMembers(members: Member[]): void;
  setHasOlder(hasOlder: boolean): void;
  /** Whether this person may delete and ban here (the server's answer to `moderate` `check`). */
  setModerator(moderator: boolean): void;
  /** A message a moderator removed: its text is gone for everyone. */
  markDeleted(id: string): void;
  /** What a moderation action of this page's did. */
  showModeration(result: Exclude<ModerationResult, { op: 'check' }>): void;
}

export interface SessionOptions {
  wsUrl: string;
  room: string;
  /** The name asked for with `?name=`; with credentials, the server takes the token's instead. */
  name: string;
  /** When the server authenticates (sign-in.ts): the token goes as a subprotocol, never in the URL. */
  credentials?: Credentials;
  maxMessageBytes?: number;
}

const FIRST_PAGE = 50;
const CATCH_UP_PAGE = 100;
/** How far before the newest message a catch-up starts, for deliveries a drop cut short. */
const CATCH_UP_MARGIN_MS = 10_000;
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

type HistoryMode = 'latest' | 'after' | 'before';

export class ChatSession {
  readonly maxMessageBytes: number;
  private readonly socket: ReconnectingSocket;
  private readonly timeline = new Timeline();
  private readonly outbox = new Outbox();
  /** Without sign-in, the ids of the messages this page sent (by their confirmations). */
  private readonly sent: OwnMessages;
  /** Everything up to this id is held (the end of the last completed history chain). */
  private cursor: string | undefined;
  private synced = false;
  private historyInFlight: HistoryMode | null = null;
  private connections = 0;
  private lastSend = 0;
  private readonly members = new MemberList(() => ({
    name: this.name,
    ...(this.options.credentials && { userId: this.options.credentials.userId }),
  }));
  private keepaliveTimer: number | undefined;
  private notConnectedStreak = 0;
  private notConnectedOn = 0;
  /** The prevId a gap catch-up is looking for, and those history did not have (expired, or never stored). */
  private soughtGap: string | undefined;
  private readonly settledGaps = new Set<string>();
  /** Ids a `deleted` frame named: a copy of one that comes later (a catch-up) shows as removed too. */
  private readonly deletedIds = new Set<string>();
  private banned = false;

  constructor(
    private readonly options: SessionOptions,
    private readonly view: ChatView,
  ) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.sent = new OwnMessages(options.room);
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
    if (this.banned) {
      this.banned = false;
      this.socket.start();
    } else this.socket.retryNow();
  }

  /** Why a text cannot be sent, or null. */
  problemWith(text: string): string | null {
    const normalized = normalizeText(text);
    if (normalized.length === 0) return 'Type a message first.';
    const bytes = utf8Length(normalized);
    return bytes > this.maxMessageBytes ? `Too long: ${bytes} of at most ${this.maxMessageBytes} bytes (UTF-8).` : null;
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
    const oldest = this.timeline.oldestId;
    if (this.historyInFlight || oldest === undefined) return;
    this.requestHistory('before', request.history(FIRST_PAGE, { before: oldest }));
  }

  // ------------------------------------------------------------------ events

  private onOpen(): void {
    this.connections += 1;
    this.synced = false;
    this.historyInFlight = null;
    this.view.setSynced(false);
    this.view.setState('connected', 'Connected');
    this.requestMembers();
    // Signed in, the server may know this person as a moderator; without sign-in nobody is one.
    if (this.options.credentials) this.request(request.moderate({ op: 'check' }));
    if (this.cursor === undefined) this.requestHistory('latest', request.history(FIRST_PAGE));
    else this.requestHistory('after', request.history(CATCH_UP_PAGE, { after: this.cursor }));
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
    if (this.synced) {
      const safe = this.timeline.idBefore(CATCH_UP_MARGIN_MS);
      if (safe !== undefined && (this.cursor === undefined || safe > this.cursor)) this.cursor = safe;
    }
    this.synced = false;
    this.historyInFlight = null;
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
        this.catchUpGap();
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
      case 'info':
        break;
    }
  }

  /**
   * Signed in, a message is the page's own by its sender's userId (the token's subject: two
   * people may share a name). Without sign-in, by what this page sent: a confirmation (the
   * message with the clientId it was sent with, which only its sender receives), or a message
   * whose id an earlier confirmation gave. A name decides nothing: anyone may take it.
   */
  private addMessage(received: ChatMessage & { clientId?: string }, live: boolean): void {
    const { credentials } = this.options;
    const message = this.deletedIds.has(received.id) ? { ...received, text: '', deleted: true as const } : received;
    const confirmed = this.confirms(message);
    if (confirmed) {
      this.view.removePending(confirmed.localId);
      this.notConnectedStreak = 0;
    }
    // A backend's message is nobody's own, whatever name it goes by.
    const own =
      message.backend !== true &&
      (credentials
        ? message.userId === credentials.userId
        : confirmed !== undefined || message.clientId !== undefined || this.sent.has(message.id));
    if (own && !credentials) this.sent.add(message.id);
    const beforeId = this.timeline.add(message);
    if (beforeId !== false) this.view.showMessage(message, { beforeId, own, live });
    // Held already, and history now says it was deleted (the `deleted` frame was missed).
    else if (message.deleted === true) this.markDeleted(message.id);
  }

  private markDeleted(id: string): void {
    this.deletedIds.add(id);
    if (this.timeline.has(id)) this.view.markDeleted(id);
  }

  /**
   * The outbox item a message settles: the one with its clientId (the server's confirmation),
   * else (found in history: the confirmation was lost with the connection) the oldest item
   * already sent with its text, when the sender is this page's: its userId signed in, its
   * name without sign-in (the one case a name is trusted: without it, the page would send
   * the message again and store it twice).
   */
  private confirms(message: ChatMessage & { clientId?: string }): Pending | undefined {
    if (message.backend === true) return undefined;
    if (message.clientId !== undefined) return this.outbox.confirm(message);
    const { credentials } = this.options;
    const sender = credentials ? message.userId === credentials.userId : message.name === this.name;
    return sender ? this.outbox.confirm(message) : undefined;
  }

  private onHistory(messages: ChatMessage[], hasMore: boolean): void {
    const mode = this.historyInFlight;
    this.historyInFlight = null;
    for (const message of messages) this.addMessage(message, false);
    const last = messages[messages.length - 1];
    if ((mode === 'before' || mode === 'latest') && !hasMore) this.timeline.holdsFromBeginning();
    if (mode === 'before') {
      this.view.setHasOlder(hasMore);
      return;
    }
    if (mode === 'latest') this.view.setHasOlder(hasMore);
    if (last && (this.cursor === undefined || last.id > this.cursor)) this.cursor = last.id;
    // An empty room: everything from now on is new, so a catch-up can start at the beginning.
    if (mode === 'latest' && !last && !hasMore) this.cursor ??= BEGINNING;
    if (mode === 'after' && hasMore && last) {
      this.requestHistory('after', request.history(CATCH_UP_PAGE, { after: last.id }));
      return;
    }
    if (mode !== null) this.onSynced();
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
    if (this.soughtGap !== undefined && !this.timeline.has(this.soughtGap)) this.settledGaps.add(this.soughtGap);
    this.soughtGap = undefined;
    this.catchUpGap();
  }

  /**
   * A message held whose previous one (`prevId`) is not: the page missed that one live (a
   * post that failed), so it reads history after the newest id it holds before it, at once.
   * A prevId history does not have either (expired, or its send failed) is not looked for again.
   */
  private catchUpGap(): void {
    if (!this.synced || this.historyInFlight) return;
    const gap = this.timeline.firstGap(this.settledGaps)?.prevId;
    // Nothing held before it: the room's first messages were missed, read from the beginning.
    const after =
      gap === undefined ? undefined : (this.timeline.idBeforeId(gap) ?? (this.timeline.heldFromBeginning ? BEGINNING : undefined));
    if (gap === undefined || after === undefined) return;
    this.soughtGap = gap;
    this.requestHistory('after', request.history(CATCH_UP_PAGE, { after }));
  }

  private onError(code: string, message: string): void {
    if (code === 'not_connected') return this.onNotConnected(message);
    if (code === 'banned') return this.onBanned(message);
    if (MODERATION_ERRORS.has(code)) {
      this.view.showNotice('error', message);
      return;
    }
    const sent = this.outbox.with('sent')[0];
    if (sent && (SEND_ERRORS.has(code) || !this.historyInFlight)) {
      this.fail(sent, message);
      return;
    }
    if (this.historyInFlight) {
      const mode = this.historyInFlight;
      this.historyInFlight = null;
      this.view.showNotice('error', `Could not load history: ${message}`);
      if (mode !== 'before') this.onSynced();
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

  private requestHistory(mode: HistoryMode, body: ClientRequest): void {
    if (this.request(body)) this.historyInFlight = mode;
  }

  private request(body: ClientRequest): boolean {
    const sent = this.socket.send(JSON.stringify(body));
    if (sent) this.lastSend = Date.now();
    return sent;
  }
}
