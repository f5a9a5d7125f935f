/**
 * The local runtime honours an SQS event source's ScalingConfig.MaximumConcurrency as Lambda does:
 * read from the project template (Mappings.Tuning's FanoutMaxConcurrency sets it), and never more
 * batches of the queue in flight at once than that bound.
 */
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { expect } from 'chai';
import type { InvokeOutcome } from '../../src/lambda/lambda-pool';
import { LocalSqs } from '../../src/sqs/sqs';
import { loadTemplate, type QueueMappingModel, type TemplateModel } from '../../src/template/template';
import { readTemplateFile } from '../../src/template/template-yaml';

const TEMPLATE = join(import.meta.dirname ?? '.', '..', '..', '..', 'template.yaml');
const QUIET = { info: () => undefined, warn: () => undefined, invocation: () => undefined };

/** The event source mappings of the template on an SQS queue, with the raw MaximumConcurrency of each. */
async function boundedMappings(model: TemplateModel): Promise<Array<{ mapping: QueueMappingModel; bound: unknown }>> {
  const resources = (await readTemplateFile(TEMPLATE)).Resources as Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  return Object.values(resources)
    .filter((resource) => resource.Type === 'AWS::Lambda::EventSourceMapping')
    .map((resource) => {
      const bound = (resource.Properties?.ScalingConfig as { MaximumConcurrency?: unknown } | undefined)?.MaximumConcurrency;
      const functionId = (resource.Properties?.FunctionName as { Ref?: string } | undefined)?.Ref;
      const mapping = model.queueMappings.find((candidate) => candidate.functionId === functionId);
      if (!mapping) throw new Error(`no local mapping for ${functionId}`);
      return { mapping, bound };
    });
}

/** One SQS JSON-protocol request to the local queues, as the front door hands it on. */
function sqsRequest(sqs: LocalSqs, operation: string, input: Record<string, unknown>): void {
  let status = 0;
  const res = {
    writeHead: (code: number) => {
      status = code;
      return { end: () => undefined };
    },
  } as unknown as ServerResponse;
  sqs.handle(operation, input, res);
  expect(status, `${operation} status`).to.equal(200);
}

describe('local SQS: ScalingConfig.MaximumConcurrency', () => {
  it('reads the bound of each queue event source from the template, through Fn::FindInMap', async () => {
    const template = await readTemplateFile(TEMPLATE);
    const mappings = template.Mappings as Record<string, Record<string, Record<string, unknown>>>;
    const found = await boundedMappings(await loadTemplate(TEMPLATE));
    expect(found).to.have.length.greaterThan(0);
    for (const { mapping, bound } of found) {
      const [map, top, second] = ((bound as { 'Fn::FindInMap'?: string[] })['Fn::FindInMap'] ?? []) as [string, string, string];
      expect(map, `${mapping.functionId}: MaximumConcurrency from a mapping`).to.be.a('string');
      expect(mapping.maximumConcurrency).to.be.a('number').and.to.equal(Number(mappings[map]?.[top]?.[second]));
    }
  });

  for (const bound of [2, 5]) {
    it(`keeps at most MaximumConcurrency (${bound}) batches of the fan-out queue in flight`, async () => {
      const model = await loadTemplate(TEMPLATE);
      const [{ mapping }] = (await boundedMappings(model)) as [{ mapping: QueueMappingModel; bound: unknown }];
      mapping.maximumConcurrency = bound;
      const queue = model.queues.get(mapping.queueId);
      if (!queue) throw new Error(`no queue ${mapping.queueId}`);
      let inFlight = 0;
      let peak = 0;
      let served = 0;
      const invoke = async (): Promise<InvokeOutcome> => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 30));
        inFlight -= 1;
        served += 1;
        return { requestId: `r${served}`, durationMs: 30, payload: { batchItemFailures: [] } };
      };
      const sqs = new LocalSqs({ model, log: QUIET, origin: () => 'http://127.0.0.1:1', invoke, maxConcurrency: 8 });
      try {
        const messages = mapping.batchSize * 8;
        const entries = Array.from({ length: messages }, (_, i) => ({ Id: `m${i}`, MessageBody: `shard ${i}` }));
        for (let i = 0; i < entries.length; i += 10) {
          sqsRequest(sqs, 'SendMessageBatch', { QueueUrl: sqs.queueUrl(queue), Entries: entries.slice(i, i + 10) });
        }
        const deadline = Date.now() + 5_000;
        while (served < messages / mapping.batchSize && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
        expect(served, 'batches served').to.equal(messages / mapping.batchSize);
        expect(peak, 'most batches in flight at once').to.equal(bound);
      } finally {
        sqs.close();
      }
    });
  }
});
