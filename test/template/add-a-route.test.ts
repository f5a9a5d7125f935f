/**
 * Adding a route as CONTRIBUTING.md walks through it, in a scratch copy of the project: its
 * function folder, its event fixture, and its entry in template.yaml (a line of
 * Mappings.Functions, its name in the loops' lists and the stage's DependsOn, its function
 * resource). The loops give it its Route, Integration, Permission, log group and alarms; the
 * copy passes cfn-lint, and the local runtime (what `npm start` runs) serves the new route to a
 * bare WebSocket client.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import WebSocket from 'ws';
import { startLocalRuntime, type LocalRuntime } from '../../local/src/index';
import { ROOT, loadTemplate, output, resourcesOfType, run } from './helpers';

/** What each edit of template.yaml replaces, and with what (each must match exactly once). */
const TEMPLATE_EDITS: [string, string][] = [
  [
    '    Members: { Serves: members, Fails: clients could not list their room. }\n',
    '$&    Ping: { Serves: ping, Fails: clients got no pong. }\n',
  ],
  [
    '[Connect, Disconnect, SendMessage, Default, History, Members, Moderate]',
    '[Connect, Disconnect, SendMessage, Default, History, Members, Moderate, Ping]',
  ],
  [
    '[Disconnect, SendMessage, Default, History, Members, Moderate]',
    '[Disconnect, SendMessage, Default, History, Members, Moderate, Ping]',
  ],
  [
    '[Connect, Disconnect, SendMessage, Default, History, Members, Fanout, Moderate, Publish]',
    '[Connect, Disconnect, SendMessage, Default, History, Members, Fanout, Moderate, Publish, Ping]',
  ],
  ['MembersRoute, ModerateRoute]', 'MembersRoute, ModerateRoute, PingRoute]'],
  [
    '  FanoutFunction:\n',
    `  PingFunction:
    Type: AWS::Serverless::Function
    Properties:
      Description: ping - answers pong
      CodeUri: functions/ping/
      LoggingConfig: { LogGroup: !Ref PingLogGroup }
      Environment:
        Variables:
          CONNECTIONS_URL: *connectionsUrl
      Policies:
        - Statement:
            - { Effect: Allow, Action: [execute-api:ManageConnections], Resource: *postToConnections }
    Metadata: *functionBuild
$&`,
  ],
];

const PING_HANDLER = `import { websocketHandler } from 'chat-core';
import { postToConnection } from '../../layers/chat-core/src/platform/management';

/** ping: answers the caller pong. */
export const handler = websocketHandler(async (event) => {
  await postToConnection(event.requestContext.connectionId, Buffer.from('pong'));
});
`;

function addPingRoute(dir: string): void {
  let template = readFileSync(path.join(dir, 'template.yaml'), 'utf8');
  for (const [find, replace] of TEMPLATE_EDITS) {
    expect(template.split(find).length - 1, `template.yaml has ${JSON.stringify(find.slice(0, 60))} once`).to.equal(1);
    template = template.replace(find, replace.replace('$&', find));
  }
  writeFileSync(path.join(dir, 'template.yaml'), template);
  mkdirSync(path.join(dir, 'functions', 'ping'));
  writeFileSync(path.join(dir, 'functions', 'ping', 'index.ts'), PING_HANDLER);
  const fixture = JSON.parse(readFileSync(path.join(dir, 'events', 'members.json'), 'utf8')) as {
    requestContext: { routeKey: string };
    body: string;
  };
  fixture.requestContext.routeKey = 'ping';
  fixture.body = JSON.stringify({ action: 'ping' });
  writeFileSync(path.join(dir, 'events', 'ping.json'), `${JSON.stringify(fixture, null, 2)}\n`);
}

describe('adding a route (CONTRIBUTING.md): function folder, event fixture, template entry', function () {
  this.timeout(120_000);
  // Inside the checkout (.aws-sam is ignored), so that the builds find its node_modules.
  const dir = path.join(ROOT, '.aws-sam', `add-a-route-${process.pid}`);
  let runtime: LocalRuntime | undefined;

  before(() => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const part of ['template.yaml', 'samconfig.toml', 'events', 'layers', 'functions']) {
      cpSync(path.join(ROOT, part), path.join(dir, part), {
        recursive: true,
        filter: (source) => !source.includes(`${path.sep}node_modules`) && !source.includes(`${path.sep}dist`),
      });
    }
    addPingRoute(dir);
  });

  after(async () => {
    await runtime?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the new route its Route, Integration, Permission, log group and alarms from the loops', () => {
    const template = loadTemplate(path.join(dir, 'template.yaml'));
    for (const id of ['PingRoute', 'PingIntegration', 'PingPermission', 'PingLogGroup', 'PingErrorsAlarm', 'PingThrottlesAlarm']) {
      expect(template.Resources, id).to.have.property(id);
    }
    const before = resourcesOfType(loadTemplate(), 'AWS::ApiGatewayV2::Route').length;
    expect(resourcesOfType(template, 'AWS::ApiGatewayV2::Route'), 'one route more').to.have.length(before + 1);
  });

  it('passes cfn-lint with no finding', async () => {
    const result = await run('cfn-lint', [path.join(dir, 'template.yaml')]);
    expect(result.code, output(result)).to.equal(0);
  });

  it('is served by the local runtime: a bare client sends {"action":"ping"} and gets pong', async () => {
    runtime = await startLocalRuntime({
      templatePath: path.join(dir, 'template.yaml'),
      port: 0,
      dynamodbPort: 0,
      quiet: true,
      prewarm: false,
    });
    const ws = new WebSocket(`${runtime.wsUrl}?room=lobby&name=newcomer`);
    try {
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      const answer = new Promise<string>((resolve) => ws.once('message', (data: Buffer) => resolve(data.toString('utf8'))));
      ws.send(JSON.stringify({ action: 'ping' }));
      expect(await answer).to.equal('pong');
    } finally {
      ws.close();
    }
  });
});
