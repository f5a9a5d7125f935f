/**
 * The template's SQS queues, in memory, and their event source mappings: what the functions
 * send (AWS JSON protocol, `X-Amz-Target: AmazonSQS.*`, on the runtime's port, where the local
 * queue URLs point) is delivered to the mapped function in batches, with visibility timeouts,
 * partial batch responses (ReportBatchItemFailures) and redrive to a dead-letter queue.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendAwsError, sendJson } from '../core/http.js';
import type { InvokeOutcome } from '../lambda/lambda-pool.js';
import type { RuntimeLog } from '../core/log.js';
import type { QueueMappingModel, QueueModel, TemplateModel } from '../template/template.js';

interface StoredMessage {
  messageId: string;
  body: string;
  md5: string;
  sentAt: number;
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  receiptHandle?: string;
  messageAttributes: Record<string, unknown>;
}

interface LocalQueue {
  model: QueueModel;
  messages: StoredMessage[];
}

export interface SqsOptions {
  model: TemplateModel;
  log: RuntimeLog;
  /** http://127.0.0.1:<port>: local queue URLs are <origin>/<account>/<name>. */
  origin(): string;
  invoke(functionId: string, event: unknown): Promise<InvokeOutcome>;
  /** Most batches one mapping has in flight at once (unless the mapping says fewer). */
  maxConcurrency: number;
  /**
   * What the event source mapping does with the function's execution role (local/src/iam/iam.ts):
   * false when `action` (sqs:ReceiveMessage, sqs:DeleteMessage, ...) is denied on the queue.
   */
  authorize?(functionId: string, action: string, queueName: string): boolean;
}

class SqsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly queryCode = code,
  ) {
    super(message);
  }
}

const MAX_MESSAGE_BYTES = 256 * 1024;
const md5 = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');

export class LocalSqs {
  private readonly queues = new Map<string, LocalQueue>();
  private readonly inFlight = new Map<QueueMappingModel, number>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: SqsOptions) {
    for (const model of options.model.queues.values()) this.queues.set(model.queueName, { model, messages: [] });
    this.timer = setInterval(() => this.pumpAll(), 250);
    this.timer.unref();
  }

  queueUrl(model: QueueModel): string {
    return `${this.options.origin()}/${this.options.model.pseudo.accountId}/${model.queueName}`;
  }

  /** True for requests in the SQS JSON protocol. */
  matches(req: IncomingMessage): boolean {
    return req.method === 'POST' && String(req.headers['x-amz-target'] ?? '').startsWith('AmazonSQS.');
  }

  /**
   * Answers one SQS request: its operation (`X-Amz-Target`) and its JSON body, parsed once by
   * its door (sqs-door.ts), or the error that parsing it gave.
   */
  handle(operation: string, input: Record<string, unknown> | Error, res: ServerResponse): void {
    let body: unknown;
    try {
      if (input instanceof Error) throw input;
      body = this.operation(operation, input);
    } catch (e: unknown) {
      const { code, queryCode, message } = e instanceof SqsError ? e : new SqsError('InvalidParameterValue', (e as Error).message);
      return sendAwsError(res, 'json', { status: 400, code, queryCode, message, namespace: 'com.amazonaws.sqs' });
    }
    sendJson(res, 200, body, { 'content-type': 'application/x-amz-json-1.0' });
  }

  private queueOf(input: Record<string, unknown>): LocalQueue {
    const name =
      String(input.QueueUrl ?? '')
        .split('/')
        .pop() ?? '';
    const queue = this.queues.get(name);
    if (!queue) throw new SqsError('QueueDoesNotExist', 'The specified queue does not exist.', 'AWS.SimpleQueueService.NonExistentQueue');
    return queue;
  }

  private operation(name: string, input: Record<string, unknown>): unknown {
    switch (name) {
      case 'SendMessage': {
        const queue = this.queueOf(input);
        const sent = this.enqueue(queue, String(input.MessageBody ?? ''), input.DelaySeconds, input.MessageAttributes);
        return { MessageId: sent.messageId, MD5OfMessageBody: sent.md5 };
      }
      case 'SendMessageBatch': {
        const queue = this.queueOf(input);
        const entries = (input.Entries ?? []) as { Id: string; MessageBody: string; DelaySeconds?: number; MessageAttributes?: unknown }[];
        if (entries.length === 0)
          throw new SqsError('EmptyBatchRequest', 'There should be at least one SendMessageBatchRequestEntry in the request.');
        if (entries.length > 10)
          throw new SqsError(
            'TooManyEntriesInBatchRequest',
            `Maximum number of entries per request are 10. You have sent ${entries.length}.`,
          );
        const total = entries.reduce((sum, e) => sum + Buffer.byteLength(e.MessageBody ?? '', 'utf8'), 0);
        if (total > MAX_MESSAGE_BYTES)
          throw new SqsError('BatchRequestTooLong', `Batch requests cannot be longer than ${MAX_MESSAGE_BYTES} bytes.`);
        const Successful = entries.map((e) => {
          const sent = this.enqueue(queue, e.MessageBody ?? '', e.DelaySeconds, e.MessageAttributes);
          return { Id: e.Id, MessageId: sent.messageId, MD5OfMessageBody: sent.md5 };
        });
        return { Successful, Failed: [] };
      }
      case 'ReceiveMessage': {
        const queue = this.queueOf(input);
        const max = Number(input.MaxNumberOfMessages ?? 1);
        const visibility = input.VisibilityTimeout === undefined ? undefined : Number(input.VisibilityTimeout);
        const Messages = this.receive(queue, max, visibility).map((m) => ({
          MessageId: m.messageId,
          ReceiptHandle: m.receiptHandle,
          MD5OfBody: m.md5,
          Body: m.body,
        }));
        return Messages.length > 0 ? { Messages } : {};
      }
      case 'DeleteMessage':
        this.delete(this.queueOf(input), String(input.ReceiptHandle));
        return {};
      case 'DeleteMessageBatch': {
        const queue = this.queueOf(input);
        const entries = (input.Entries ?? []) as { Id: string; ReceiptHandle: string }[];
        entries.forEach((e) => this.delete(queue, e.ReceiptHandle));
        return { Successful: entries.map((e) => ({ Id: e.Id })), Failed: [] };
      }
      case 'GetQueueUrl': {
        const queue = this.queues.get(String(input.QueueName));
        if (!queue)
          throw new SqsError('QueueDoesNotExist', 'The specified queue does not exist.', 'AWS.SimpleQueueService.NonExistentQueue');
        return { QueueUrl: this.queueUrl(queue.model) };
      }
      case 'ListQueues':
        return { QueueUrls: [...this.queues.values()].map((q) => this.queueUrl(q.model)) };
      case 'GetQueueAttributes': {
        const queue = this.queueOf(input);
        const now = Date.now();
        return {
          Attributes: {
            QueueArn: queue.model.arn,
            ApproximateNumberOfMessages: String(queue.messages.filter((m) => m.visibleAt <= now).length),
            ApproximateNumberOfMessagesNotVisible: String(queue.messages.filter((m) => m.visibleAt > now).length),
            VisibilityTimeout: String(queue.model.visibilityTimeoutSeconds),
            MessageRetentionPeriod: String(queue.model.retentionSeconds),
          },
        };
      }
      case 'PurgeQueue':
        this.queueOf(input).messages.length = 0;
        return {};
      default:
        throw new SqsError('UnsupportedOperation', `${name} is not supported by the local runtime's SQS.`);
    }
  }

  private enqueue(queue: LocalQueue, body: string, delay: unknown, attributes: unknown): StoredMessage {
    if (Buffer.byteLength(body, 'utf8') > MAX_MESSAGE_BYTES) {
      throw new SqsError(
        'InvalidParameterValue',
        `One or more parameters are invalid. Reason: Message must be shorter than ${MAX_MESSAGE_BYTES} bytes.`,
      );
    }
    const now = Date.now();
    const delaySeconds = delay === undefined ? queue.model.delaySeconds : Number(delay);
    const message: StoredMessage = {
      messageId: randomUUID(),
      body,
      md5: md5(body),
      sentAt: now,
      visibleAt: now + delaySeconds * 1000,
      receiveCount: 0,
      messageAttributes: (attributes ?? {}) as Record<string, unknown>,
    };
    queue.messages.push(message);
    queueMicrotask(() => this.pumpAll());
    return message;
  }

  /** Takes up to `max` visible messages, moving those received too often to the dead-letter queue. */
  private receive(queue: LocalQueue, max: number, visibilitySeconds = queue.model.visibilityTimeoutSeconds): StoredMessage[] {
    const now = Date.now();
    const expired = now - queue.model.retentionSeconds * 1000;
    queue.messages = queue.messages.filter((m) => m.sentAt >= expired);
    const taken: StoredMessage[] = [];
    for (const message of queue.messages) {
      if (taken.length >= max) break;
      if (message.visibleAt > now) continue;
      const { redrive } = queue.model;
      if (redrive && message.receiveCount >= redrive.maxReceiveCount) {
        this.moveToDeadLetter(queue, message, redrive.deadLetterQueueId);
        continue;
      }
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.visibleAt = now + visibilitySeconds * 1000;
      message.receiptHandle = `${message.messageId}#${randomUUID()}`;
      taken.push(message);
    }
    return taken;
  }

  private moveToDeadLetter(queue: LocalQueue, message: StoredMessage, deadLetterQueueId: string): void {
    queue.messages = queue.messages.filter((m) => m !== message);
    const target = [...this.queues.values()].find((q) => q.model.logicalId === deadLetterQueueId);
    if (!target) return;
    target.messages.push({ ...message, visibleAt: Date.now(), receiveCount: 0, firstReceivedAt: undefined, receiptHandle: undefined });
    this.options.log.warn(`SQS: message ${message.messageId} moved from ${queue.model.queueName} to ${target.model.queueName}`);
  }

  private delete(queue: LocalQueue, receiptHandle: string): void {
    queue.messages = queue.messages.filter((m) => m.receiptHandle !== receiptHandle);
  }

  private pumpAll(): void {
    if (this.closed) return;
    for (const mapping of this.options.model.queueMappings) if (mapping.enabled) this.pump(mapping);
  }

  private pump(mapping: QueueMappingModel): void {
    const queue = [...this.queues.values()].find((q) => q.model.logicalId === mapping.queueId);
    if (!queue) return;
    const limit = Math.min(mapping.maximumConcurrency ?? Infinity, this.options.maxConcurrency);
    const may = (action: string): boolean => this.options.authorize?.(mapping.functionId, action, queue.model.queueName) ?? true;
    while ((this.inFlight.get(mapping) ?? 0) < limit && !this.closed) {
      // Lambda reads the queue's attributes, then polls, with the function's role.
      if (!may('sqs:GetQueueAttributes') || !may('sqs:ReceiveMessage')) return;
      const batch = this.receive(queue, mapping.batchSize);
      if (batch.length === 0) return;
      this.inFlight.set(mapping, (this.inFlight.get(mapping) ?? 0) + 1);
      void this.deliver(mapping, queue, batch).finally(() => {
        this.inFlight.set(mapping, (this.inFlight.get(mapping) ?? 1) - 1);
        this.pump(mapping);
      });
    }
  }

  private async deliver(mapping: QueueMappingModel, queue: LocalQueue, batch: StoredMessage[]): Promise<void> {
    const { region } = this.options.model.pseudo;
    const event = {
      Records: batch.map((m) => ({
        messageId: m.messageId,
        receiptHandle: m.receiptHandle,
        body: m.body,
        attributes: {
          ApproximateReceiveCount: String(m.receiveCount),
          SentTimestamp: String(m.sentAt),
          SenderId: 'AROALOCALRUNTIME:local',
          ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt ?? Date.now()),
        },
        messageAttributes: m.messageAttributes,
        md5OfBody: m.md5,
        eventSource: 'aws:sqs',
        eventSourceARN: queue.model.arn,
        awsRegion: region,
      })),
    };
    const outcome = await this.options.invoke(mapping.functionId, event);
    let failed = new Set<string>();
    if (outcome.error) {
      failed = new Set(batch.map((m) => m.messageId));
    } else if (mapping.reportBatchItemFailures) {
      const failures = (outcome.payload as { batchItemFailures?: { itemIdentifier?: string }[] } | undefined)?.batchItemFailures ?? [];
      failed = new Set(failures.map((f) => String(f.itemIdentifier)));
    }
    const done = batch.filter((message) => !failed.has(message.messageId) && message.receiptHandle);
    if (done.length > 0 && (this.options.authorize?.(mapping.functionId, 'sqs:DeleteMessage', queue.model.queueName) ?? true)) {
      for (const message of done) this.delete(queue, message.receiptHandle as string);
    }
    const status = outcome.error ? 'error' : failed.size > 0 ? `${failed.size}/${batch.length} failed` : `${batch.length} message(s)`;
    this.options.log.invocation({ route: `sqs:${queue.model.queueName}`, functionId: mapping.functionId, outcome, status });
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }
}
