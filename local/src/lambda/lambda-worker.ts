/**
 * The inside of one local Lambda sandbox: runs in its own worker_threads Worker (own module state,
 * own process.env), loads the handler once (the init phase), then serves invocations one at a
 * time, like Lambda's Node.js runtime. Built by build.ts into a plain CommonJS file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { resolveImportsFromNodePath } from './sandbox-modules';
import { type LocalServices, redirectAwsCalls } from './sandbox-redirect';

export interface WorkerData {
  handlerFile: string;
  exportName: string;
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  logGroupName: string;
  logStreamName: string;
  /** Where the handler's AWS calls go (sandbox-redirect.ts). */
  localServices?: LocalServices;
}

export interface InvokeMessage {
  type: 'invoke';
  id: number;
  event: string;
  requestId: string;
  deadline: number;
  /** X-Amzn-Trace-Id of this invocation's trace (`Tracing: Active`), which Lambda sets as _X_AMZN_TRACE_ID. */
  traceHeader?: string;
}
export interface LambdaError {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}
export type WorkerMessage =
  | { type: 'ready'; initMs: number }
  | { type: 'init-error'; error: LambdaError }
  | { type: 'result'; id: number; payload: string | undefined }
  | { type: 'error'; id: number; error: LambdaError };

type Handler = (event: unknown, context: unknown, callback: (err?: unknown, result?: unknown) => void) => unknown;

export function toLambdaError(e: unknown, fallbackType = 'Error'): LambdaError {
  if (e instanceof Error) {
    return { errorType: e.name || fallbackType, errorMessage: e.message, trace: (e.stack ?? '').split('\n') };
  }
  return {
    errorType: typeof e === 'string' ? 'string' : fallbackType,
    errorMessage: typeof e === 'string' ? e : (JSON.stringify(e) ?? String(e)),
  };
}

function isEsm(file: string): boolean {
  if (file.endsWith('.mjs')) return true;
  if (file.endsWith('.cjs')) return false;
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) return (JSON.parse(readFileSync(pkg, 'utf8')) as { type?: string }).type === 'module';
    if (dirname(dir) === dir) return false;
  }
}

// Kept out of esbuild's sight so that it stays a real dynamic import.
const importModule = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<Record<string, unknown>>;

async function loadHandler(data: WorkerData): Promise<Handler> {
  let mod: Record<string, unknown>;
  try {
    mod = isEsm(data.handlerFile)
      ? await importModule(pathToFileURL(data.handlerFile).href)
      : (createRequire(data.handlerFile)(data.handlerFile) as Record<string, unknown>);
  } catch (e: unknown) {
    const error = toLambdaError(e);
    throw Object.assign(new Error(error.errorMessage), { lambda: { ...error, errorType: 'Runtime.ImportModuleError' } });
  }
  const handler = mod[data.exportName] ?? (mod.default as Record<string, unknown> | undefined)?.[data.exportName];
  if (typeof handler !== 'function') {
    const message = `${data.handlerFile.replace(/.*[\\/]/, '').replace(/\.[^.]+$/, '')}.${data.exportName} is undefined or not exported`;
    throw Object.assign(new Error(message), { lambda: { errorType: 'Runtime.HandlerNotFound', errorMessage: message } });
  }
  return handler as Handler;
}

function invoke(handler: Handler, data: WorkerData, msg: InvokeMessage): Promise<unknown> {
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: data.functionName,
    functionVersion: data.functionVersion,
    invokedFunctionArn: data.invokedFunctionArn,
    memoryLimitInMB: data.memoryLimitInMB,
    awsRequestId: msg.requestId,
    logGroupName: data.logGroupName,
    logStreamName: data.logStreamName,
    getRemainingTimeInMillis: (): number => Math.max(0, msg.deadline - Date.now()),
    done: (): void => undefined,
    fail: (): void => undefined,
    succeed: (): void => undefined,
  };
  if (msg.traceHeader) process.env._X_AMZN_TRACE_ID = msg.traceHeader;
  else delete process.env._X_AMZN_TRACE_ID;
  return new Promise((resolve, reject) => {
    const callback = (err?: unknown, result?: unknown): void => (err ? reject(err) : resolve(result));
    Object.assign(context, { done: callback, fail: (err: unknown) => reject(err), succeed: (r: unknown) => resolve(r) });
    try {
      const returned = handler(JSON.parse(msg.event), context, callback);
      if (returned && typeof (returned as Promise<unknown>).then === 'function') (returned as Promise<unknown>).then(resolve, reject);
      else if (handler.length < 3) resolve(returned);
    } catch (e: unknown) {
      reject(e);
    }
  });
}

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('lambda-worker runs inside a worker thread');
  const data = workerData as WorkerData;
  const post = (message: WorkerMessage): void => port.postMessage(message);
  if (/--enable-source-maps/.test(process.env.NODE_OPTIONS ?? '')) process.setSourceMapsEnabled(true);
  resolveImportsFromNodePath();
  if (data.localServices) redirectAwsCalls(data.localServices);
  const started = performance.now();
  const ready = loadHandler(data);
  ready.then(
    () => post({ type: 'ready', initMs: performance.now() - started }),
    (e: unknown) => post({ type: 'init-error', error: (e as { lambda?: LambdaError }).lambda ?? toLambdaError(e) }),
  );
  port.on('message', (msg: InvokeMessage) => {
    ready
      .then((handler) => invoke(handler, data, msg))
      .then(
        (result) => post({ type: 'result', id: msg.id, payload: result === undefined ? undefined : JSON.stringify(result) }),
        (e: unknown) => {
          console.error(`${new Date().toISOString()}\t${msg.requestId}\tERROR\tInvoke Error\t${JSON.stringify(toLambdaError(e))}`);
          post({ type: 'error', id: msg.id, error: toLambdaError(e) });
        },
      );
  });
}

main();
