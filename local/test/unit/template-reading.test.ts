/**
 * How the local runtime reads templates: a fixture's routes and queues, the YAML short forms,
 * anchors and merge keys, and route selection expressions.
 */
import { expect } from 'chai';
import { evaluateSelection, selectRoute } from '../../src/apigateway/route-selection';
import { loadTemplate } from '../../src/template/template';
import { parseTemplateText } from '../../src/template/template-yaml';
import { FIXTURE_TEMPLATE } from '../helpers';

describe('template reading', () => {
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
