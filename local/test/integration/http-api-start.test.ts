/**
 * The HTTP APIs at start-up (fixtures/http-api.yaml): a route that would hide what the port
 * serves refuses the start; `npm start` prints a line per route, whose URL takes a signed call.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { startLocalRuntime } from '../../src/index';
import { collect, tsx, waitFor } from '../commands';
import { HTTP_TEMPLATE, send, signedHeaders } from './http-api-helpers';

describe('local runtime: HTTP API routes that would hide what the port serves', function () {
  this.timeout(30_000);

  it('refuse to start when a $default stage route is the page', async () => {
    // Prepare: the fixture's implicit API gets a route at /, the page's path.
    const dir = mkdtempSync(join(tmpdir(), 'http-clash-'));
    const template = join(dir, 'template.yaml');
    writeFileSync(
      template,
      readFileSync(HTTP_TEMPLATE, 'utf8')
        .replace('CodeUri: http/', `CodeUri: ${join(HTTP_TEMPLATE, '..', 'http')}/`)
        .replace('Properties: { Path: /health, Method: GET }', 'Properties: { Path: /, Method: GET }'),
    );
    try {
      // Act
      const started = startLocalRuntime({ templatePath: template, port: 0, dynamodbPort: 0, quiet: true, prewarm: false });

      // Assess
      const error = await started.then(
        async (runtime) => {
          await runtime.close();
          return undefined;
        },
        (e: unknown) => e as Error,
      );
      expect(error?.message).to.match(
        /HTTP API route GET \/ \(EchoFunction, event Health, API ServerlessHttpApi\) at \/ and \/, which the runtime serves already/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('local runtime: start prints each HTTP route', function () {
  this.timeout(30_000);

  it('a line "<event> <url>" per route, whose URL takes a signed call', async () => {
    // Prepare
    const child = tsx('src/cli/start.ts', ['--template', HTTP_TEMPLATE, '--port', '0', '--dynamodb-port', '0', '--no-watch']);
    const { out } = collect(child);
    try {
      await waitFor(out, /Ready in \d+ ms/);
      const [line, url] = (await waitFor(out, /^\s*Publish\s+(\S+).*$/m)) as unknown as [string, string];
      const body = '{"text":"from the banner"}';

      // Act
      const answer = await send(url, {
        method: 'POST',
        headers: await signedHeaders(url, body, { accessKeyId: 'local', secretAccessKey: 'local' }),
        body,
      });

      // Assess
      expect(line).to.match(/^ {2}Publish {9}http:\/\/localhost:\d+\/backend\/messages {3}\(POST → EchoFunction, AWS_IAM\)$/);
      expect(answer.status, answer.body).to.equal(200);
      expect(JSON.parse(answer.body).body).to.equal(body);
      expect(out()).to.match(/^ {2}Health {10}http:\/\/localhost:\d+\/health {3}\(GET → EchoFunction, NONE\)$/m);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
