/**
 * The web page the runtime serves at / and its assets, beside the WebSocket API. The runtime
 * knows no page of its own: an app gives one, as a function that builds its files
 * (`startLocalRuntime({ page })`, or `--page <module>` on the command line, a module exporting
 * `buildPage()`). Without one, or if its build fails, a small page names the app and shows its
 * WebSocket URL.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { HttpService } from '../front-door/registry.js';

export interface PageFile {
  contentType: string;
  body: string | Uint8Array;
}
/** Builds the page's files, by URL path ('/' is the page itself). */
export type PageBuilder = () => Promise<Map<string, PageFile>>;

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function placeholder(title: string, wsPath: string, problem: string | undefined): Map<string, PageFile> {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} (local)</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>${escapeHtml(title)}, running locally</h1>
${problem ? `<p>The app's page is not available: ${escapeHtml(problem)}</p>\n` : ''}<p>The WebSocket API is: <code id="url"></code>. Try <code>wscat -c <span id="cmd"></span></code>.</p>
<script>
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + ${JSON.stringify(wsPath)};
  document.getElementById('url').textContent = url;
  document.getElementById('cmd').textContent = url;
</script>
</body></html>
`;
  return new Map([['/', { contentType: 'text/html; charset=utf-8', body: html }]]);
}

/** The page's files: the app's (built once), or the placeholder, with the problem if its build failed. */
export async function loadPage(
  build: PageBuilder | undefined,
  title: string,
  wsPath: string,
): Promise<{ files: Map<string, PageFile>; problem?: string }> {
  if (!build) return { files: placeholder(title, wsPath, undefined) };
  try {
    return { files: await build() };
  } catch (e: unknown) {
    const problem = `building it failed: ${(e as Error).message}`;
    return { files: placeholder(title, wsPath, problem), problem };
  }
}

/** The `buildPage` export of a module (`--page <module>`, a .ts module too under tsx). */
export async function pageModule(file: string): Promise<PageBuilder> {
  const loaded = (await import(pathToFileURL(resolve(file)).href)) as { buildPage?: unknown };
  if (typeof loaded.buildPage !== 'function') throw new Error(`--page ${file}: the module exports no buildPage() function`);
  return loaded.buildPage as PageBuilder;
}

/** The page's files on the runtime's port: every path no other service takes (404 for one it lacks). */
export function pageService(files: Map<string, PageFile>): HttpService {
  return { name: 'page', matches: () => true, handle: (req, res, pathname) => servePage(files, req, res, pathname) };
}

function servePage(files: Map<string, PageFile>, req: IncomingMessage, res: ServerResponse, pathname: string): void {
  const file = files.get(pathname);
  if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
    return;
  }
  const body = typeof file.body === 'string' ? Buffer.from(file.body) : file.body;
  res.writeHead(200, { 'content-type': file.contentType, 'content-length': body.length, 'cache-control': 'no-cache' });
  res.end(req.method === 'HEAD' ? undefined : body);
}
