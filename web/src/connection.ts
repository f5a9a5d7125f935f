/**
 * A WebSocket that comes back by itself: exponential backoff with jitter after a drop,
 * an immediate retry when the browser goes online or the tab becomes visible again, a
 * prompt close when it goes offline, and a connect timeout. It knows nothing of chat; the session decides what to do on open.
 * The subprotocols are asked for before each attempt, so that a token among them can be renewed.
 */

export interface CloseInfo {
  code: number;
  reason: string;
  /** Whether this attempt ever opened (a refused connect never does). */
  wasOpen: boolean;
  /** When the next attempt starts. */
  retryInMs: number;
}

export interface SocketHandlers {
  onConnecting(attempt: number): void;
  onOpen(): void;
  onMessage(data: string): void;
  onClose(info: CloseInfo): void;
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  connectTimeoutMs: number;
}

const DEFAULTS: BackoffOptions = { initialMs: 500, maxMs: 15_000, connectTimeoutMs: 10_000 };

export class ReconnectingSocket {
  private ws: WebSocket | null = null;
  /** True while the subprotocols of the next attempt are being made (a token being renewed). */
  private preparing = false;
  private attempt = 0;
  private retryTimer: number | undefined;
  private connectTimer: number | undefined;
  private stopped = true;
  private readonly options: BackoffOptions;

  constructor(
    private readonly url: string,
    private readonly protocols: () => Promise<string[]>,
    private readonly handlers: SocketHandlers,
    options: Partial<BackoffOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener('online', this.retryNow);
    window.addEventListener('offline', this.onOffline);
    document.addEventListener('visibilitychange', this.onVisibility);
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    window.removeEventListener('online', this.retryNow);
    window.removeEventListener('offline', this.onOffline);
    document.removeEventListener('visibilitychange', this.onVisibility);
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000, 'bye');
  }

  send(data: string): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(data);
    return true;
  }

  /** Drops the connection as a network failure would (it then reconnects). */
  drop(): void {
    this.ws?.close(4000, 'dropped by the page');
  }

  /** Skips the backoff wait, if one is running. */
  readonly retryNow = (): void => {
    if (this.stopped || this.ws || this.preparing) return;
    this.clearTimers();
    void this.connect();
  };

  /** A socket can linger half-open for minutes after the network goes: let it go at once. */
  private readonly onOffline = (): void => {
    this.ws?.close(4001, 'offline');
  };

  private readonly onVisibility = (): void => {
    if (document.visibilityState === 'visible') this.retryNow();
  };

  private async connect(): Promise<void> {
    this.attempt += 1;
    this.handlers.onConnecting(this.attempt);
    let protocols: string[];
    this.preparing = true;
    try {
      protocols = await this.protocols();
    } catch (e: unknown) {
      if (!this.stopped) this.scheduleRetry({ code: 4401, reason: e instanceof Error ? e.message : 'sign-in failed', wasOpen: false });
      return;
    } finally {
      this.preparing = false;
    }
    if (this.stopped) return;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url, protocols);
    } catch {
      this.scheduleRetry({ code: 1006, reason: 'invalid URL', wasOpen: false });
      return;
    }
    this.ws = ws;
    let wasOpen = false;
    this.connectTimer = window.setTimeout(() => ws.close(), this.options.connectTimeoutMs);
    ws.onopen = () => {
      window.clearTimeout(this.connectTimer);
      wasOpen = true;
      this.attempt = 0;
      this.handlers.onOpen();
    };
    ws.onmessage = (event: MessageEvent) => {
      if (typeof event.data === 'string') this.handlers.onMessage(event.data);
    };
    ws.onclose = (event: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      window.clearTimeout(this.connectTimer);
      if (!this.stopped) this.scheduleRetry({ code: event.code, reason: event.reason, wasOpen });
    };
  }

  private scheduleRetry(info: Omit<CloseInfo, 'retryInMs'>): void {
    const { initialMs, maxMs } = this.options;
    const ceiling = Math.min(maxMs, initialMs * 2 ** Math.max(0, this.attempt - 1));
    const retryInMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.retryTimer = window.setTimeout(() => void this.connect(), retryInMs);
    this.handlers.onClose({ ...info, retryInMs });
  }

  private clearTimers(): void {
    window.clearTimeout(this.retryTimer);
    window.clearTimeout(this.connectTimer);
  }
}
