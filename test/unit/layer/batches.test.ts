/** The layer's one retry of partly accepted batches (batches.ts), as BatchWriteItem and SendMessageBatch use it. */
import { expect } from 'chai';
import { sendAll } from '../../../layers/chat-core/src/platform/batches';

describe('sendAll: a batch until every item is taken', () => {
  it('sends again only what was handed back, and stops once nothing is', async () => {
    const sent: string[][] = [];
    const retries: number[] = [];
    await sendAll(
      ['a', 'b', 'c'],
      async (batch) => {
        sent.push(batch);
        return sent.length === 1 ? batch.filter((item) => item !== 'b') : [];
      },
      { onRetry: (_left, attempt) => retries.push(attempt), failure: () => new Error('left') },
    );
    expect(sent).to.deep.equal([
      ['a', 'b', 'c'],
      ['a', 'c'],
    ]);
    expect(retries).to.deep.equal([1]);
  });

  it("gives up after its attempts with the caller's error, naming what is left", async () => {
    let calls = 0;
    const refuseAll = async (batch: string[]): Promise<string[]> => {
      calls += 1;
      return batch;
    };
    let error: Error | undefined;
    await sendAll(['x', 'y'], refuseAll, { attempts: 2, failure: (left) => new Error(`${left.length} left`) }).catch((e: Error) => {
      error = e;
    });
    expect(error?.message).to.equal('2 left');
    expect(calls).to.equal(2);
  });

  it('makes no call for an empty batch', async () => {
    let calls = 0;
    await sendAll(
      [],
      async () => {
        calls += 1;
        return [];
      },
      { failure: () => new Error('never') },
    );
    expect(calls).to.equal(0);
  });
});
