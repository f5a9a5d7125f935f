/**
 * Builds the chat page in memory: esbuild bundles and minifies web/src/main.ts and
 * web/styles.css (each with a linked source map), and index.html is served as is.
 * The local runtime serves the result; `npm run build:web` writes it to web/dist/.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';

export interface ChatPageFile {
  contentType: string;
  body: string | Uint8Array;
}

/** This directory, found the same way whether this module is loaded as CommonJS or ESM. */
export const webDir = typeof __dirname === 'string' ? __dirname : path.dirname(new URL(import.meta.url).pathname);

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

export function contentTypeOf(urlPath: string): string {
  return CONTENT_TYPES[path.extname(urlPath)] ?? 'application/octet-stream';
}

/**
 * The page's files keyed by URL path: '/', '/index.html', '/app.js', '/app.js.map', '/app.css', '/app.css.map'.
 * Also exported as `buildPage`, which the local runtime's `--page` takes (npm start).
 */
export async function buildChatPage(): Promise<Map<string, ChatPageFile>> {
  const outdir = path.join(webDir, 'dist');
  const result = await build({
    entryPoints: [
      { in: path.join(webDir, 'src', 'main.ts'), out: 'app' },
      { in: path.join(webDir, 'styles.css'), out: 'app' },
    ],
    outdir,
    bundle: true,
    minify: true,
    sourcemap: 'linked',
    format: 'iife',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    platform: 'browser',
    write: false,
    logLevel: 'silent',
    absWorkingDir: webDir,
  });
  const files = new Map<string, ChatPageFile>();
  for (const file of result.outputFiles) {
    const urlPath = `/${path.relative(outdir, file.path).split(path.sep).join('/')}`;
    files.set(urlPath, { contentType: contentTypeOf(urlPath), body: file.text });
  }
  const html = await readFile(path.join(webDir, 'index.html'), 'utf8');
  const page = { contentType: contentTypeOf('/index.html'), body: html };
  files.set('/', page);
  files.set('/index.html', page);
  return files;
}

export { buildChatPage as buildPage };
