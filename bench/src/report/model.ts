/**
 * A model of latency and cost per message for large rooms, from the figures measured in the
 * same run (per post, per shard, hand-off through the queue, room read) and stated
 * assumptions (prices, Lambda concurrency and CPU share, a post's round trip on AWS).
 */
/** On-demand list prices, us-east-1, USD (check the pricing pages before relying on them). */
export const PRICES = {
  apiGatewayMessagesPerMillion: 1.0, // WebSocket messages, first billion a month, 32 KB units
  lambdaRequestsPerMillion: 0.2,
  lambdaGbSecondArm: 0.0000133334,
  sqsRequestsPerMillion: 0.4, // standard queue, each 64 KB chunk of a request is a request
  dynamodbReadUnitsPerMillion: 0.125, // on-demand read request units
  dynamodbWriteUnitsPerMillion: 0.625, // on-demand write request units
};

export interface ModelInputs {
  /** Template values. */
  memoryMb: number;
  threshold: number;
  shardSize: number;
  batchSize: number;
  postConcurrency: number;
  /** Fan-out invocations at once: the event source's MaximumConcurrency (FanoutMaxConcurrency), else the account default. */
  lambdaConcurrency: number;
  /** Assumed: a PostToConnection round trip from Lambda to API Gateway in the same region. */
  awsPostRoundTripMs: number;
  /** Measured here. */
  perPostMs: number;
  shardOverheadMs: number;
  /** Send → first recipient through the queue, for a room of benchRecipients. */
  handOffMs: number;
  benchRecipients: number;
  /** Send → first recipient on the direct path (the largest room measured). */
  directFirstMs: number;
  queryMsPerRecipient: number;
  sendBatchMs: number;
  shardBytesPerRecipient: number;
  shardBytesFixed: number;
  readUnitsPerRecipient: number;
  writeUnitsPerMessage: number;
  /** Measured direct (one invocation) latency, p50, for rooms up to the threshold. */
  directMs: (recipients: number) => number;
}

export interface ModelRow {
  recipients: number;
  path: 'direct' | 'queued';
  shards: number;
  invocations: number;
  latencyLocalMs: number;
  latencyAwsMs: number;
  /** The AWS estimate with the other BatchSize (1 if the template's is larger, else 10). */
  altBatchSize: number;
  latencyAwsAltMs: number;
  cost: { apiGateway: number; lambda: number; sqs: number; dynamodb: number; total: number };
}

/** Lambda gives a function CPU in proportion to its memory: one vCPU at 1,769 MB. */
export const cpuShare = (memoryMb: number): number => Math.min(1, memoryMb / 1769);

function shardMs(inputs: ModelInputs, recipients: number, aws: boolean): number {
  const cpuBound = (recipients * inputs.perPostMs) / (aws ? cpuShare(inputs.memoryMb) : 1);
  const networkBound = aws ? Math.ceil(recipients / inputs.postConcurrency) * inputs.awsPostRoundTripMs : 0;
  return inputs.shardOverheadMs + Math.max(cpuBound, networkBound);
}

export function modelRow(inputs: ModelInputs, recipients: number): ModelRow {
  const row = modelFor(inputs, recipients);
  const altBatchSize = inputs.batchSize > 1 ? 1 : 10;
  return { ...row, altBatchSize, latencyAwsAltMs: modelFor({ ...inputs, batchSize: altBatchSize }, recipients).latencyAwsMs };
}

function modelFor(inputs: ModelInputs, recipients: number): Omit<ModelRow, 'altBatchSize' | 'latencyAwsAltMs'> {
  const queued = recipients > inputs.threshold;
  const shards = queued ? Math.ceil(recipients / inputs.shardSize) : 0;
  const batches = Math.ceil(shards / 10);
  const fanoutInvocations = Math.ceil(shards / inputs.batchSize);
  const waves = Math.ceil(fanoutInvocations / inputs.lambdaConcurrency);
  const serialShards = Math.min(inputs.batchSize, shards);
  const batchesOf = (n: number): number => Math.ceil(Math.ceil(n / inputs.shardSize) / 10);
  const send =
    inputs.handOffMs +
    (recipients - inputs.benchRecipients) * inputs.queryMsPerRecipient +
    (batches - batchesOf(inputs.benchRecipients)) * inputs.sendBatchMs;
  const latency = (aws: boolean): number =>
    queued
      ? send + waves * serialShards * shardMs(inputs, inputs.shardSize, aws)
      : aws
        ? inputs.directFirstMs + shardMs(inputs, recipients, true)
        : inputs.directMs(recipients);
  const latencyLocalMs = latency(false);
  const latencyAwsMs = latency(true);

  // Cost per message, with the AWS durations.
  const gbSeconds = (ms: number): number => (inputs.memoryMb / 1024) * (ms / 1000);
  const sendMs = queued ? send : latencyAwsMs;
  const fanoutMs = fanoutInvocations * serialShards * shardMs(inputs, inputs.shardSize, true);
  const lambda =
    ((1 + fanoutInvocations) * PRICES.lambdaRequestsPerMillion) / 1e6 + gbSeconds(sendMs + fanoutMs) * PRICES.lambdaGbSecondArm;
  const bodyBytes = inputs.shardBytesFixed + inputs.shardSize * inputs.shardBytesPerRecipient;
  const chunks = (entries: number): number => (entries === 0 ? 0 : Math.ceil((entries * bodyBytes) / (64 * 1024)));
  const sendChunks = Math.floor(shards / 10) * chunks(10) + chunks(shards % 10);
  const sqsRequests = sendChunks + 2 * fanoutInvocations; // SendMessageBatch chunks, then ReceiveMessage + DeleteMessageBatch
  const sqs = (sqsRequests * PRICES.sqsRequestsPerMillion) / 1e6;
  const apiGateway = ((recipients + 1) * PRICES.apiGatewayMessagesPerMillion) / 1e6;
  const dynamodb =
    (Math.max(0.5, recipients * inputs.readUnitsPerRecipient) * PRICES.dynamodbReadUnitsPerMillion +
      inputs.writeUnitsPerMessage * PRICES.dynamodbWriteUnitsPerMillion) /
    1e6;
  const total = apiGateway + lambda + sqs + dynamodb;
  return {
    recipients,
    path: queued ? 'queued' : 'direct',
    shards,
    invocations: 1 + fanoutInvocations,
    latencyLocalMs,
    latencyAwsMs,
    cost: { apiGateway, lambda, sqs, dynamodb, total },
  };
}
