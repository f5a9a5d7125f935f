/**
 * Past one invocation: a runtime with a low FanoutThreshold, so that sendmessage queues the
 * room in shards on the local SQS queue and FanoutFunction (its event source mapping, batch
 * size 10) posts them. Measured: send → last recipient through the queue, fan-out invocations
 * per message, and FanoutFunction's duration for one shard, for one shard of one recipient,
 * and for one batch holding every shard of the room (what the event source mapping delivers
 * here), invoked directly with SQS events of the shape the queue delivers.
 */
import { randomUUID } from 'node:crypto';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Shard } from 'chat-core';
import type { LocalRuntime } from 'sam-websocket-local';
import { connectionIdOf } from '../harness/clients';
import { benchFrame } from '../harness/frame';
import { timeSeries, type Series, type SeriesPlan } from '../harness/latency';
import { openRoom, roomItems, roomSockets, startRuntime, stopRuntime, type Room } from '../harness/runtime';
import { median, sleep } from '../harness/stats';

export interface QueuePlan {
  recipients: number;
  threshold: number;
  shardSize: number;
  messages: number;
  shardRuns: number;
}

export interface QueueResult extends QueuePlan {
  shardsPerMessage: number;
  latency: Series;
  fanoutInvocationsPerMessage: number;
  /** FanoutFunction durations (ms): one shard of shardSize, one shard of 1, one batch of every shard. */
  shardMs: number[];
  onePostShardMs: number[];
  batchMs: number[];
  /** Bytes of a shard's queue message (the SQS body): fixed part and per recipient. */
  shardBytesFixed: number;
  shardBytesPerRecipient: number;
  /** Reading the room's index entries (main thread, local store), per recipient. */
  queryMsPerRecipient: number;
  /** Average DynamoDB size of one index entry of the room (bytes). */
  indexItemBytes: number;
  /** One SendMessageBatch of 10 shards to the local queue (empty shards), median ms. */
  sendBatchMs: number;
}

/** DynamoDB's item size: attribute names plus values (strings in UTF-8, numbers about 1 byte per 2 digits + 1). */
export function itemBytes(item: Record<string, { S?: string; N?: string }>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    bytes += Buffer.byteLength(name, 'utf8');
    if (value.S !== undefined) bytes += Buffer.byteLength(value.S, 'utf8');
    else if (value.N !== undefined) bytes += Math.ceil(value.N.replace(/^-|\./g, '').length / 2) + 1;
  }
  return bytes;
}

function sqsEvent(runtime: LocalRuntime, shards: Shard[]): unknown {
  const queue = [...runtime.template.queues.values()].find((q) => !q.logicalId.includes('DeadLetter'));
  const now = String(Date.now());
  return {
    Records: shards.map((shard) => ({
      messageId: randomUUID(),
      receiptHandle: randomUUID(),
      body: JSON.stringify(shard),
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: now, SenderId: 'BENCH', ApproximateFirstReceiveTimestamp: now },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: queue?.arn ?? 'arn:aws:sqs:us-east-1:123456789012:FanoutQueue',
      awsRegion: 'us-east-1',
    })),
  };
}

/** Invokes FanoutFunction on `shards` of the room's recipients and returns its duration, once every recipient got it. */
async function invokeShards(runtime: LocalRuntime, room: Room, ids: string[][], tag: string): Promise<number> {
  const need = ids.reduce((sum, shard) => sum + shard.length, 0);
  const arrival = room.receipts.expect(tag, need, 30_000);
  const shards = ids.map((shard): Shard => ({ frame: benchFrame(room.name, tag), recipients: shard.map((id) => [id, 'plain']) }));
  const outcome = await runtime.invoke('FanoutFunction', sqsEvent(runtime, shards));
  if (outcome.error) throw new Error(`FanoutFunction: ${outcome.error.errorType}: ${outcome.error.errorMessage}`);
  const { complete } = await arrival;
  if (!complete) throw new Error(`FanoutFunction: ${tag} did not reach every recipient`);
  return outcome.durationMs;
}

/** SendMessageBatch of 10 (empty) shards to the template's fan-out queue on the local SQS. */
async function timeSendBatch(runtime: LocalRuntime, room: string, runs: number): Promise<number> {
  const queue = [...runtime.template.queues.values()].find((q) => !q.logicalId.includes('DeadLetter'));
  if (!queue) return Number.NaN;
  const origin = runtime.httpUrl.replace(/\/$/, '');
  const client = new SQSClient({ endpoint: origin, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const queueUrl = `${origin}/${runtime.template.pseudo.accountId}/${queue.queueName}`;
  const body = JSON.stringify({ frame: benchFrame(room, 'empty'), recipients: [] } satisfies Shard);
  const times: number[] = [];
  try {
    for (let i = 0; i < runs; i += 1) {
      const started = performance.now();
      await client.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Array.from({ length: 10 }, (_, id) => ({ Id: String(id), MessageBody: body })),
        }),
      );
      times.push(performance.now() - started);
    }
  } finally {
    client.destroy();
  }
  return median(times);
}

export async function measureQueue(plan: QueuePlan, series: Omit<SeriesPlan, 'messages'>): Promise<QueueResult> {
  const runtime = await startRuntime({
    env: { FANOUT_THRESHOLD: String(plan.threshold), FANOUT_SHARD_SIZE: String(plan.shardSize) },
  });
  let room: Room | undefined;
  try {
    const opened = await openRoom(runtime, 'queued', plan.recipients);
    room = opened;
    const before = runtime.stats().FanoutFunction?.invocations ?? 0;
    const latency = await timeSeries(opened.receipts, plan.recipients, { ...series, messages: plan.messages }, 'queued', (text) =>
      opened.sender.send(JSON.stringify({ action: 'sendmessage', message: text })),
    );
    await sleep(300); // the last invocation returns after its posts arrive
    const fanouts = (runtime.stats().FanoutFunction?.invocations ?? 0) - before;

    // The recipients' ids (the sender, who has a connection too, left out) in shards.
    const sender = await connectionIdOf(opened.sender);
    await roomItems(runtime, opened.name);
    const queryStarted = performance.now();
    const items = await roomItems(runtime, opened.name);
    const queryMs = performance.now() - queryStarted;
    const ids = items.flatMap((item) => (item.connectionId?.S && item.connectionId.S !== sender ? [item.connectionId.S] : []));
    const shards: string[][] = [];
    for (let i = 0; i < ids.length; i += plan.shardSize) shards.push(ids.slice(i, i + plan.shardSize));
    const shardMs: number[] = [];
    const onePostShardMs: number[] = [];
    const batchMs: number[] = [];
    for (let run = 0; run < series.warmup + plan.shardRuns; run += 1) {
      const keep = run >= series.warmup;
      const one = await invokeShards(runtime, opened, [shards[0] ?? []], `shard-${run}`);
      const single = await invokeShards(runtime, opened, [(shards[0] ?? []).slice(0, 1)], `single-${run}`);
      const batch = await invokeShards(runtime, opened, shards.slice(0, 10), `batch-${run}`);
      if (!keep) continue;
      shardMs.push(one);
      onePostShardMs.push(single);
      batchMs.push(batch);
    }
    const bodyOf = (n: number): number =>
      Buffer.byteLength(
        JSON.stringify({
          frame: benchFrame(opened.name, 'queued:0'),
          recipients: ids.slice(0, n).map((id) => [id, 'plain']),
        } satisfies Shard),
      );
    const total = series.warmup + plan.messages;
    return {
      ...plan,
      shardsPerMessage: Math.ceil(plan.recipients / plan.shardSize),
      latency,
      fanoutInvocationsPerMessage: fanouts / total,
      shardMs,
      onePostShardMs,
      batchMs,
      shardBytesFixed: bodyOf(0),
      shardBytesPerRecipient: (bodyOf(plan.shardSize) - bodyOf(0)) / plan.shardSize,
      queryMsPerRecipient: queryMs / items.length,
      indexItemBytes: items.reduce((sum, item) => sum + itemBytes(item as Record<string, { S?: string; N?: string }>), 0) / items.length,
      sendBatchMs: await timeSendBatch(runtime, opened.name, series.warmup + plan.shardRuns),
    };
  } finally {
    await stopRuntime(runtime, room ? roomSockets(room) : []);
  }
}
