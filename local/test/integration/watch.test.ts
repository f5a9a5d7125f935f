/**
 * Reload on save: with `watch`, editing a function's source rebuilds it and the next
 * invocation runs the new code (on a copy of the fixture, in a temporary directory).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { eventually, FIXTURE_TEMPLATE, startRuntime } from '../helpers';

describe('local runtime: reload on change (watch)', () => {
  it('runs the new code of a function after its source changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-runtime-watch-'));
    cpSync(join(FIXTURE_TEMPLATE, '..'), dir, { recursive: true });
    const runtime = await startRuntime({ templatePath: join(dir, 'template.yaml'), watch: true });
    try {
      expect((await runtime.invoke('TwoWayFunction', { body: 'a' })).payload).to.deep.equal({ statusCode: 200, body: 'pong: a' });
      const source = join(dir, 'functions', 'index.ts');
      writeFileSync(source, readFileSync(source, 'utf8').replace('body: `pong: ${event.body}`', 'body: `PONG: ${event.body}`'));
      const reloaded = await eventually(
        async () => {
          const { payload } = await runtime.invoke('TwoWayFunction', { body: 'b' });
          return (payload as { body?: string } | undefined)?.body === 'PONG: b' ? true : undefined;
        },
        15_000,
        'the edited function served',
      );
      expect(reloaded).to.equal(true);
    } finally {
      await runtime.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
