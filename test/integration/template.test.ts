/**
 * How the local runtime reads templates: the project's template.yaml (what runs locally is what
 * is deployed), the YAML short forms and anchors, and route selection expressions.
 */
import { expect } from 'chai';
import { evaluateSelection, selectRoute } from '../../local/src/apigateway/route-selection';
import { loadTemplate } from '../../local/src/template/template';
import { parseTemplateText } from '../../local/src/template/template-yaml';
import { FIXTURE_TEMPLATE, PROJECT_TEMPLATE } from './helpers';

describe('template reading', () => {
  it("reads the project template: the tutorial's routes, selection expression and stage", async () => {
    const model = await loadTemplate(PROJECT_TEMPLATE);
    expect(model.routeSelectionExpression).to.equal('$request.body.action');
    expect(model.stage).to.equal('production');
    expect(model.warnings).to.deep.equal([]);
    const routes = Object.fromEntries([...model.routes.values()].map((r) => [r.routeKey, r.functionId]));
    expect(routes).to.include({
      $connect: 'ConnectFunction',
      $disconnect: 'DisconnectFunction',
      $default: 'DefaultFunction',
      sendmessage: 'SendMessageFunction',
    });
  });

  it('gives every routed function its CodeUri, Globals, layer and esbuild properties (through the YAML anchor)', async () => {
    const model = await loadTemplate(PROJECT_TEMPLATE);
    for (const route of model.routes.values()) {
      const fn = model.functions.get(route.functionId);
      expect(fn, route.functionId).to.not.equal(undefined);
      expect(fn?.codeUri).to.match(/\/functions\/[a-z]+$/);
      expect(fn?.handler).to.equal('index.handler');
      expect(fn?.layers).to.deep.equal(['ChatCoreLayer']);
      expect(fn?.buildMethod).to.equal('esbuild');
      expect(fn?.buildProperties.External).to.include('chat-core');
      expect(fn?.environment.CONNECTIONS_TABLE).to.equal('ConnectionsTable');
      // $connect and $disconnect post nothing themselves (presence goes out from the fan-out queue).
      if (route.routeKey !== '$connect' && route.routeKey !== '$disconnect') {
        expect(fn?.environment.CONNECTIONS_URL).to.equal(`https://${model.apiId}.execute-api.us-east-1.amazonaws.com/production`);
      }
      expect(fn?.timeoutSeconds).to.be.a('number').and.be.greaterThan(0);
      expect(fn?.logGroupName, "LoggingConfig: the stack's log group").to.equal(`/aws/lambda/local/${route.functionId}`);
    }
    expect(model.layers.get('ChatCoreLayer')?.buildMethod).to.equal('makefile');
    expect(model.tables.get('ConnectionsTable')?.ttlAttribute).to.equal('expiresAt');
  });

  it('reads a route that only a fixture template has', async () => {
    const model = await loadTemplate(FIXTURE_TEMPLATE);
    expect(model.routes.get('echo')).to.deep.equal({ routeKey: 'echo', functionId: 'EchoFunction', twoWay: false });
    expect(model.routes.get('twoway')?.twoWay).to.equal(true);
    expect(model.routes.get('$disconnect')?.functionId, 'Fn::Join and Fn::GetAtt targets').to.equal('RecordFunction');
    expect(model.queueMappings).to.deep.equal([
      {
        queueId: 'FixtureQueue',
        functionId: 'ConsumeFunction',
        batchSize: 5,
        reportBatchItemFailures: true,
        enabled: true,
        maximumConcurrency: undefined,
      },
    ]);
    expect(model.queues.get('FixtureQueue')?.redrive).to.deep.equal({ deadLetterQueueId: 'FixtureDeadLetterQueue', maxReceiveCount: 2 });
  });

  it('reads the YAML short forms, anchors and merge keys', () => {
    const doc = parseTemplateText(
      [
        'a: !Ref Thing',
        'b: !GetAtt Table.Arn',
        'c: !Sub ["${x}-y", { x: !Ref P }]',
        'd: &shared { k: 1, l: !Join [",", [a, b]] }',
        'e: *shared',
        'f: { <<: *shared, k: 2 }',
        'g: !If [Cond, !Ref AWS::NoValue, no]',
      ].join('\n'),
    );
    expect(doc).to.deep.equal({
      a: { Ref: 'Thing' },
      b: { 'Fn::GetAtt': ['Table', 'Arn'] },
      c: { 'Fn::Sub': ['${x}-y', { x: { Ref: 'P' } }] },
      d: { k: 1, l: { 'Fn::Join': [',', ['a', 'b']] } },
      e: { k: 1, l: { 'Fn::Join': [',', ['a', 'b']] } },
      f: { k: 2, l: { 'Fn::Join': [',', ['a', 'b']] } },
      g: { 'Fn::If': ['Cond', { Ref: 'AWS::NoValue' }, 'no'] },
    });
  });
});

describe('route selection', () => {
  const routes = new Set(['$connect', '$disconnect', '$default', 'sendmessage', 'a-b']);

  it('evaluates $request.body.<path> on JSON bodies', () => {
    expect(evaluateSelection('$request.body.action', '{"action":"sendmessage"}')).to.equal('sendmessage');
    expect(evaluateSelection('$request.body.meta.kind', '{"meta":{"kind":"x"}}')).to.equal('x');
    expect(evaluateSelection('$request.body.action', 'not json')).to.equal(undefined);
    expect(evaluateSelection('${request.body.p}-${request.body.q}', '{"p":"a","q":"b"}')).to.equal('a-b');
  });

  it('falls back to $default, never to a reserved route', () => {
    expect(selectRoute('$request.body.action', '{"action":"sendmessage"}', routes)).to.equal('sendmessage');
    expect(selectRoute('$request.body.action', '{"action":"$connect"}', routes)).to.equal('$default');
    expect(selectRoute('$request.body.action', '{"action":"other"}', routes)).to.equal('$default');
    expect(selectRoute('$request.body.action', '{"action":"x"}', new Set(['x2']))).to.equal(undefined);
  });
});
