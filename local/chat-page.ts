/**
 * The chat page at / and its assets, built in memory by web/build.ts (`buildChatPage`). While
 * that module does not exist, or if its build fails, a small page says so and shows the URL.
 */
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface PageFile { contentType: string; body: string | Uint8Array }
type BuildChatPage = () => Promise<Map<string, PageFile>>;

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function placeholder(wsPath: string, problem: string): Map<string, PageFile> {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Serverless chat (local)</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>Serverless chat, running locally</h1>
<p>The chat page is not available: ${escapeHtml(problem)}</p>
<p>The WebSocket API is: <code id="url"></code>. Try <code>wscat -c <span id="cmd"></span></code>.</p>
<script>
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + ${JSON.stringify(wsPath)};
  document.getElementById('url').textContent = url;
  document.getElementById('cmd').textContent = url;
</script>
</body></html>
`;
  return new Map([['/', { contentType: 'text/html; charset=utf-8', body: html }]]);
}

/** Builds the page once; `projectDir` holds web/build.ts. */
export async function loadChatPage(projectDir: string, wsPath: string): Promise<{ files: Map<string, PageFile>; problem?: string }> {
  const module = join(projectDir, 'web', 'build.ts');
  if (!existsSync(module)) return { files: placeholder(wsPath, 'web/build.ts does not exist yet.'), problem: 'web/build.ts not found' };
  try {
    const { buildChatPage } = (await import(pathToFileURL(module).href)) as { buildChatPage?: BuildChatPage };
    if (typeof buildChatPage !== 'function') throw new Error('web/build.ts does not export buildChatPage()');
    return { files: await buildChatPage() };
  } catch (e: unknown) {
    const problem = `building it failed: ${(e as Error).message}`;
    return { files: placeholder(wsPath, problem), problem };
  }
}

export function serveChatPage(files: Map<string, PageFile>, req: IncomingMessage, res: ServerResponse, pathname: string): void {
  const file = files.get(pathname);
  if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
    return;
  }
  const body = typeof file.body === 'string' ? Buffer.from(file.body) : file.body;
  res.writeHead(200, { 'content-type': file.contentType, 'content-length': body.length, 'cache-control': 'no-cache' });
  res.end(req.method === 'HEAD' ? undefined : body);
}
