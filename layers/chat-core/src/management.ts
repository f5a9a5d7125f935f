import { GetConnectionCommand, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { managementApi } from './aws';
import { config } from './config';
import type { ConnectionInfo } from './protocol';

export class PostTimeoutError extends Error {
  override readonly name = 'PostTimeoutError';
}

/**
 * Posts data to one connection, bounded by POST_TIMEOUT_MS whatever the SDK does:
 * the call is aborted, and the race guarantees the bound even when an aborted
 * request fails to settle (aws-sdk-js-v3 #6896, #7632).
 */
export async function postToConnection(connectionId: string, data: Uint8Array, timeoutMs = config.POST_TIMEOUT_MS): Promise<void> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new PostTimeoutError(`PostToConnection ${connectionId} took over ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    await Promise.race([
      managementApi().send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }), {
        abortSignal: abort.signal,
      }),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The tutorial's connection info, from the Management API's GetConnection. */
export async function getConnectionInfo(connectionId: string): Promise<ConnectionInfo> {
  const connection = await managementApi().send(new GetConnectionCommand({ ConnectionId: connectionId }), {
    abortSignal: AbortSignal.timeout(config.POST_TIMEOUT_MS),
  });
  return {
    ConnectedAt: connection.ConnectedAt,
    Identity: { SourceIp: connection.Identity?.SourceIp, UserAgent: connection.Identity?.UserAgent ?? null },
    LastActiveAt: connection.LastActiveAt,
    connectionID: connectionId,
  };
}
