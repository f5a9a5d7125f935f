/** `npm run build:web`: writes the chat page to web/dist/, ready to host anywhere. */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildChatPage, webDir } from './build';

async function main(): Promise<void> {
  const outdir = path.join(webDir, 'dist');
  const files = await buildChatPage();
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  for (const [urlPath, file] of files) {
    if (urlPath === '/') continue;
    await writeFile(path.join(outdir, urlPath), file.body);
    console.log(`web/dist${urlPath}  ${Buffer.byteLength(file.body).toLocaleString('en')} bytes`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
