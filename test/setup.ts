/**
 * Loaded by mocha before any test file (see .mocharc.json): every variable the
 * template gives one function or another (the unit tests drive them all in one
 * process), set before chat-core reads them at import time, with the template's
 * parameter defaults, and Powertools in dev mode (no X-Ray, no EMF output) with quiet logs.
 */
Object.assign(process.env, {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  CONNECTIONS_TABLE: 'connections-table',
  MESSAGES_TABLE: 'messages-table',
  CONNECTIONS_URL: 'https://abcdef123.execute-api.us-east-1.amazonaws.com/production',
  MAX_MESSAGE_BYTES: '4096',
  MESSAGE_RETENTION_DAYS: '7',
  MESSAGE_RATE_LIMIT: '20',
  RATE_LIMITS_TABLE: 'rate-limits-table',
  CONNECT_RATE_LIMIT: '30',
  REQUEST_RATE_LIMIT: '30',
  IDENTITY_MESSAGE_RATE_LIMIT: '100',
  IDENTITY_REQUEST_RATE_LIMIT: '100',
  MAX_ROOM_SIZE: '5000',
  FANOUT_THRESHOLD: '1000',
  FANOUT_SHARD_SIZE: '500',
  PRESENCE_INTERVAL_SECONDS: '1',
  BACKEND_RATE_LIMIT: '100',
  POWERTOOLS_SERVICE_NAME: 'chat',
  POWERTOOLS_METRICS_NAMESPACE: 'ServerlessChat',
  POWERTOOLS_DEV: 'true',
  POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT',
  POWERTOOLS_TRACE_ENABLED: 'false',
});
