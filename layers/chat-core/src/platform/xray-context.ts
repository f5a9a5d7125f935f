/**
 * The X-Ray SDK's context store, on AsyncLocalStorage. The layer's build puts this module where
 * the SDK requires `cls-hooked/context` (build.mjs), so that tracing costs what it records.
 *
 * cls-hooked keeps its context with an async_hooks hook: a callback on every promise's init,
 * before, after and destroy, whether anything is traced or not. A fan-out is thousands of
 * promises (each post is a dozen in the SDK's middleware): the hook alone made a traced
 * broadcast 1.66 times as slow as an untraced one (docs/PERFORMANCE.md). Node.js 24 carries an
 * AsyncLocalStorage store with each async context frame, so it costs nothing per promise.
 *
 * The namespace API is the part of cls-hooked's that the SDK calls (create, get and destroy a
 * namespace; a namespace's active context, createContext, get, set, run, runAndReturn,
 * runPromise, bind, enter, exit), with its semantics: a context
 * inherits from the one active when it is made, `set` needs an active context, `run` and `bind`
 * make their function's context active for everything it starts, sync or async. One thing
 * AsyncLocalStorage cannot do by itself: the SDK enters its Lambda context once, when it is
 * loaded, and never leaves it, and cls-hooked keeps that context active everywhere after, for
 * code whose async chain began before it (the Lambda runtime's loop). So the first context
 * entered outside any other is the namespace's root: active wherever no other is.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

type Context = Record<string | symbol, unknown>;

/** cls-hooked's key for the context an error was thrown in. */
export const ERROR_SYMBOL = 'error@context';

export class Namespace {
  private readonly store = new AsyncLocalStorage<Context>();
  /** Entered outside any other context and never left: active wherever no other is (see above). */
  private root: Context | null = null;
  /** What each enter() replaced, for exit(). */
  private readonly entered: (Context | undefined)[] = [];

  constructor(readonly name: string) {}

  get active(): Context | null {
    return this.store.getStore() ?? this.root;
  }

  createContext(): Context {
    const context = Object.create(this.active ?? Object.prototype) as Context;
    context._ns_name = this.name;
    return context;
  }

  set<T>(key: string, value: T): T {
    const context = this.active;
    if (!context) throw new Error('No context available. ns.run() or ns.bind() must be called first.');
    context[key] = value;
    return value;
  }

  get(key: string): unknown {
    return this.active?.[key];
  }

  run(fn: (context: Context) => void): Context {
    const context = this.createContext();
    this.store.run(context, () => {
      try {
        fn(context);
      } catch (error: unknown) {
        if (error && typeof error === 'object') (error as Context)[ERROR_SYMBOL] = context;
        throw error;
      }
    });
    return context;
  }

  runAndReturn<T>(fn: (context: Context) => T): T {
    let value: T | undefined;
    this.run((context) => {
      value = fn(context);
    });
    return value as T;
  }

  runPromise<T>(fn: (context: Context) => Promise<T>): Promise<T> {
    const context = this.createContext();
    return this.store.run(context, () => {
      const promise = fn(context);
      if (!promise || typeof promise.then !== 'function') throw new Error('fn must return a promise.');
      return promise.catch((error: unknown) => {
        if (error && typeof error === 'object') (error as Context)[ERROR_SYMBOL] = context;
        throw error;
      });
    });
  }

  bind<F extends (...args: never[]) => unknown>(fn: F, context?: Context): F {
    const bound = context ?? this.active ?? this.createContext();
    const store = this.store;
    return function (this: unknown, ...args: Parameters<F>) {
      return store.run(bound, () => fn.apply(this, args));
    } as F;
  }

  /** Makes `context` active for the rest of this execution and what it starts (cls-hooked's enter). */
  enter(context: Context): void {
    const current = this.store.getStore();
    this.entered.push(current);
    if (current === undefined && this.root === null) this.root = context;
    this.store.enterWith(context);
  }

  exit(context: Context): void {
    if (this.store.getStore() !== context) return;
    if (this.root === context) this.root = null;
    this.store.enterWith(this.entered.pop() as Context);
  }
}

const namespaces = new Map<string, Namespace>();

export function getNamespace(name: string): Namespace | undefined {
  return namespaces.get(name);
}

export function createNamespace(name: string): Namespace {
  const namespace = new Namespace(name);
  namespaces.set(name, namespace);
  return namespace;
}

export function destroyNamespace(name: string): void {
  namespaces.delete(name);
}

export function reset(): void {
  namespaces.clear();
}
