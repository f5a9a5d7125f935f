/**
 * The X-Ray SDK's context store on AsyncLocalStorage (layers/chat-core/src/platform/xray-context.ts),
 * which the layer's build puts in place of cls-hooked: a context follows what a function
 * starts, through awaits, timers and callbacks bound to it; the context the SDK enters once
 * at load (on Lambda) stays active wherever no other is; `set` outside any context throws.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { expect } from 'chai';
import { createNamespace, destroyNamespace, getNamespace, type Namespace } from '../../../layers/chat-core/src/platform/xray-context';
import { expectThrow } from '../helpers';

describe('layer: the X-Ray context on AsyncLocalStorage (xray-context.ts)', () => {
  let ns: Namespace;
  let name: string;

  beforeEach(() => {
    name = `test-${Math.random()}`;
    ns = createNamespace(name);
  });
  afterEach(() => destroyNamespace(name));

  it('is found by name until destroyed', () => {
    expect(getNamespace(name)).to.equal(ns);
    destroyNamespace(name);
    expect(getNamespace(name)).to.equal(undefined);
  });

  it('refuses set() outside any context, and get() there gives nothing', () => {
    expect(ns.get('segment')).to.equal(undefined);
    expect(expectThrow(() => ns.set('segment', 1)).message).to.equal('No context available. ns.run() or ns.bind() must be called first.');
  });

  it("keeps run()'s context through everything its function starts, and not beyond", async () => {
    let later: Promise<unknown> = Promise.resolve();
    ns.run(() => {
      ns.set('segment', 'outer');
      later = (async () => {
        await nextTurn();
        await new Promise((resolve) => setTimeout(resolve, 1));
        return ns.get('segment');
      })();
    });
    expect(await later).to.equal('outer');
    expect(ns.get('segment'), 'outside run()').to.equal(undefined);
  });

  it('gives nested and concurrent runs contexts of their own, each inheriting what was set before', async () => {
    const seen = await ns.runAndReturn(async () => {
      ns.set('segment', 'parent');
      ns.set('trace', 't1');
      const child = (label: string) =>
        ns.runAndReturn(async () => {
          ns.set('segment', label);
          await nextTurn();
          return `${String(ns.get('trace'))}/${String(ns.get('segment'))}`;
        });
      const results = await Promise.all([child('a'), child('b')]);
      return [...results, ns.get('segment')];
    });
    expect(seen).to.deep.equal(['t1/a', 't1/b', 'parent']);
  });

  it('binds a callback to the context it was bound in, wherever it is called from', async () => {
    let bound: () => unknown = () => undefined;
    ns.run(() => {
      ns.set('segment', 'bound');
      bound = ns.bind(() => ns.get('segment'));
    });
    await nextTurn();
    expect(bound()).to.equal('bound');
  });

  it('keeps the context entered outside any other active everywhere after, as the SDK enters its Lambda context at load', async () => {
    // An async chain that began before the enter (as the Lambda runtime's loop does).
    const earlier = new Promise<void>((resolve) => setTimeout(resolve, 5)).then(() => ns.get('segment'));
    ns.enter(ns.createContext());
    ns.set('segment', 'facade');
    expect(await earlier).to.equal('facade');
    expect(await ns.runAndReturn(async () => ns.get('segment')), 'inherited').to.equal('facade');
  });

  it('runPromise() keeps its context until the promise settles, and marks an error with it', async () => {
    const error = await ns
      .runPromise(async (context) => {
        ns.set('segment', 'promised');
        await nextTurn();
        expect(ns.get('segment')).to.equal('promised');
        throw Object.assign(new Error('boom'), { context });
      })
      .then(
        () => undefined,
        (e: unknown) => e as Error & { context: unknown } & Record<string, unknown>,
      );
    expect(error?.message).to.equal('boom');
    expect(error?.['error@context']).to.equal(error?.context);
  });
});
