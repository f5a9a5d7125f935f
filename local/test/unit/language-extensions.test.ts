/**
 * Fn::ForEach as AWS::LanguageExtensions expands it (local/src/template/language-extensions.ts):
 * every key and string of the fragment per value, `&{}` without non-alphanumerics, `Ref` to the
 * identifier replaced, nested loops, collections from a CommaDelimitedList parameter, and a
 * template loaded by the runtime with its loops expanded.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ForEachError, expandLanguageExtensions } from '../../src/template/language-extensions';
import { loadTemplate } from '../../src/template/template';

const LE = ['AWS::LanguageExtensions', 'AWS::Serverless-2016-10-31'];

describe('Fn::ForEach (AWS::LanguageExtensions)', () => {
  it('repeats the fragment per value, in keys and strings, with Ref to the identifier replaced and Subs left empty resolved', () => {
    const out = expandLanguageExtensions({
      Transform: LE,
      Resources: {
        Api: { Type: 'AWS::ApiGatewayV2::Api' },
        'Fn::ForEach::Routes': [
          'Route',
          ['Send', 'Read'],
          {
            '${Route}Permission': {
              Type: 'AWS::Lambda::Permission',
              Properties: {
                FunctionName: { Ref: { 'Fn::Sub': '${Route}Function' } },
                Key: { 'Fn::FindInMap': ['Routes', { Ref: 'Route' }, 'Key'] },
                Target: { 'Fn::Sub': 'integrations/${${Route}Integration}' },
              },
            },
          },
        ],
      },
    });
    expect(out.Transform).to.equal('AWS::Serverless-2016-10-31');
    expect(Object.keys(out.Resources as object)).to.deep.equal(['Api', 'SendPermission', 'ReadPermission']);
    expect((out.Resources as Record<string, { Properties: unknown }>).ReadPermission?.Properties).to.deep.equal({
      FunctionName: { Ref: 'ReadFunction' },
      Key: { 'Fn::FindInMap': ['Routes', 'Read', 'Key'] },
      Target: { 'Fn::Sub': 'integrations/${ReadIntegration}' },
    });
  });

  it('nests loops, strips non-alphanumerics for &{}, and takes a collection from a CommaDelimitedList parameter (overrides first)', () => {
    const doc = {
      Transform: 'AWS::LanguageExtensions',
      Parameters: { Names: { Type: 'CommaDelimitedList', Default: 'a.b,c' } },
      Outputs: {
        'Fn::ForEach::Outer': [
          'Name',
          { Ref: 'Names' },
          { 'Fn::ForEach::Inner': ['Side', ['L', 'R'], { '&{Name}${Side}': { Value: '${Name}/${Side}' } }] },
        ],
      },
    };
    expect(expandLanguageExtensions(doc).Outputs).to.deep.equal({
      abL: { Value: 'a.b/L' },
      abR: { Value: 'a.b/R' },
      cL: { Value: 'c/L' },
      cR: { Value: 'c/R' },
    });
    expect(Object.keys(expandLanguageExtensions(doc, { Names: ['x'] }).Outputs as object)).to.deep.equal(['xL', 'xR']);
    expect(expandLanguageExtensions(doc)).not.to.have.property('Transform');
  });

  it('refuses a loop that declares a key twice or has no list to go through, and leaves a template without the transform as it is', () => {
    const twice = { Transform: LE, Resources: { A: {}, 'Fn::ForEach::L': ['X', ['A'], { '${X}': {} }] } };
    expect(() => expandLanguageExtensions(twice)).to.throw(ForEachError, 'the key A is declared twice');
    const noList = { Transform: LE, Resources: { 'Fn::ForEach::L': ['X', { Ref: 'Missing' }, { '${X}': {} }] } };
    expect(() => expandLanguageExtensions(noList)).to.throw(ForEachError, 'Missing, which is not a parameter');
    const plain = { Resources: { 'Fn::ForEach::L': ['X', ['A'], { '${X}': {} }] } };
    expect(expandLanguageExtensions(plain)).to.equal(plain);
  });

  it('reads the routes of a template whose Route, Integration and function come from a loop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'foreach-'));
    try {
      writeFileSync(join(dir, 'index.js'), 'exports.handler = async () => ({ statusCode: 200 });\n');
      writeFileSync(
        join(dir, 'template.yaml'),
        [
          'Transform: [AWS::LanguageExtensions, AWS::Serverless-2016-10-31]',
          'Mappings:',
          '  Routes: { Connect: { Key: $connect }, Ping: { Key: ping } }',
          'Resources:',
          '  Api: { Type: AWS::ApiGatewayV2::Api, Properties: { ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action } }',
          '  Fn::ForEach::Routes:',
          '    - Route',
          '    - [Connect, Ping]',
          '    - ${Route}Route:',
          '        Type: AWS::ApiGatewayV2::Route',
          '        Properties: { ApiId: !Ref Api, RouteKey: !FindInMap [Routes, !Ref Route, Key], Target: !Sub "integrations/${${Route}Integration}" }',
          '      ${Route}Integration:',
          '        Type: AWS::ApiGatewayV2::Integration',
          '        Properties:',
          '          ApiId: !Ref Api',
          '          IntegrationType: AWS_PROXY',
          '          IntegrationUri: !Sub "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${${Route}Function.Arn}/invocations"',
          '      ${Route}Function:',
          '        Type: AWS::Serverless::Function',
          '        Properties: { CodeUri: ., Handler: index.handler, Runtime: nodejs24.x }',
          '  Stage: { Type: AWS::ApiGatewayV2::Stage, Properties: { ApiId: !Ref Api, StageName: dev, AutoDeploy: true } }',
        ].join('\n'),
      );
      const model = await loadTemplate(join(dir, 'template.yaml'));
      expect([...model.routes.entries()].map(([key, route]) => `${key} ${route.functionId}`)).to.deep.equal([
        '$connect ConnectFunction',
        'ping PingFunction',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
