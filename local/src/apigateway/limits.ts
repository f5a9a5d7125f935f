/** API Gateway's WebSocket limits, and the runtime's own timings; all can be changed for tests. */
export interface Limits {
  /** Largest WebSocket frame a client may send (API Gateway: 32 KB). Larger: close 1009. */
  frameBytes: number;
  /** Largest message, fragments included (API Gateway: 128 KB); also the @connections payload limit. */
  messageBytes: number;
  /** A connection with no message from its client for this long is closed (API Gateway: 10 minutes). */
  idleTimeoutMs: number;
  /** Connections are closed after this long (API Gateway: 2 hours). */
  maxConnectionMs: number;
  /** API Gateway answers "Endpoint request timed out" after this long (29 seconds). */
  integrationTimeoutMs: number;
  /** How often expired items are deleted from tables with TTL enabled. */
  ttlSweepMs: number;
  /**
   * Most bytes waiting to be sent to one client that does not read: past it, posts to it get
   * 429 LimitExceededException (API Gateway: the client side buffer is full) and the runtime's
   * own frames to it are dropped, so such a client cannot make the runtime hold more.
   */
  sendBufferBytes: number;
}

export const DEFAULT_LIMITS: Limits = {
  frameBytes: 32 * 1024,
  messageBytes: 128 * 1024,
  idleTimeoutMs: 10 * 60 * 1000,
  maxConnectionMs: 2 * 60 * 60 * 1000,
  integrationTimeoutMs: 29 * 1000,
  ttlSweepMs: 30 * 1000,
  sendBufferBytes: 1024 * 1024,
};
