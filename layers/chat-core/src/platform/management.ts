import { DeleteConnectionCommand, GetConnectionCommand, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { managementApi } from './aws';
import { config } from './config';
import type { ConnectionInfo } from '../wire/protocol';

export class ManagementTimeoutError extends Error {
  override readonly name = 'ManagementTimeoutError';
}

/**
 * Runs one Management API call bounded by `timeoutMs` whatever the SDK does: the
 * call is aborted, and the race guarantees the bound even when an aborted request
 * fails to settle (aws-sdk-js-v3 #6896, #7632). The timeout error is settled
 * before the abort, so it is the one the caller sees.
 */
async function bounded<T>(what: string, timeoutMs: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new ManagementTimeoutError(`${what} took over ${timeoutMs} ms`));
      abort.abort();
    }, timeoutMs);
  });
  try {
    return await Promise.race([call(abort.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Posts data to one connection, bounded by POST_TIMEOUT_MS. */
export async function postToConnection(connectionId: string, data: Uint8Array, timeoutMs = config.POST_TIMEOUT_MS): Promise<void> {
  await bounded(`PostToConnection ${connectionId}`, timeoutMs, (abortSignal) =>
    managementApi().send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }), { abortSignal }),
  );
}

/** Closes one connection (API Gateway then runs its $disconnect), bounded by POST_TIMEOUT_MS. */
export async function closeConnection(connectionId: string, timeoutMs = config.POST_TIMEOUT_MS): Promise<void> {
  await bounded(`DeleteConnection ${connectionId}`, timeoutMs, (abortSignal) =>
    managementApi().send(new DeleteConnectionCommand({ ConnectionId: connectionId }), { abortSignal }),
  );
}

/** The tutorial's connection info, from the Management API's GetConnection, bounded by POST_TIMEOUT_MS. */
export async function getConnectionInfo(connectionId: string, timeoutMs = config.POST_TIMEOUT_MS): Promise<ConnectionInfo> {
  const connection = await bounded(`GetConnection ${connectionId}`, timeoutMs, (abortSignal) =>
    managementApi().send(new GetConnectionCommand({ ConnectionId: connectionId }), { abortSignal }),
  );
  return {
    ConnectedAt: connection.ConnectedAt,
    Identity: { SourceIp: connection.Identity?.SourceIp, UserAgent: connection.Identity?.UserAgent ?? null },
    LastActiveAt: connection.LastActiveAt,
    connectionID: connectionId,
  };
}
