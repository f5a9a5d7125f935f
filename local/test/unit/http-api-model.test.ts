/**
 * The HTTP APIs' template model and routing on their own: what the model reads of HttpApi events
 * and AWS::Serverless::HttpApi resources, which route a request takes, each route's URL, and
 * which routes refuse the start.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { httpRouteInfos, httpRouteUrl, refuseHttpClashes } from '../../src/httpapi/http-api';
import { HttpRouteTable } from '../../src/httpapi/routing';
import { loadTemplate, type TemplateModel } from '../../src/template/template';
import { FIXTURE_TEMPLATE } from '../helpers';

const HTTP_TEMPLATE = join(FIXTURE_TEMPLATE, '..', 'http-api.yaml');

/** A WebSocket API (the runtime needs one) and `resources`, as a template's Resources. */
async function modelOf(resources: string): Promise<TemplateModel> {
  const dir = mkdtempSync(join(tmpdir(), 'http-model-'));
  const path = join(dir, 'template.yaml');
  writeFileSync(
    path,
    [
      'Transform: AWS::Serverless-2016-10-31',
      'Resources:',
      '  Ws:',
      '    Type: AWS::ApiGatewayV2::Api',
      '    Properties: { ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action }',
      '  WsStage:',
      '    Type: AWS::ApiGatewayV2::Stage',
      '    Properties: { ApiId: !Ref Ws, StageName: ws }',
      resources,
    ].join('\n'),
  );
  try {
    return await loadTemplate(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A function `Fn` whose Events are `events` (YAML flow mappings, one per line). */
const fn = (events: string[]): string =>
  [
    '  Fn:',
    '    Type: AWS::Serverless::Function',
    '    Properties:',
    '      CodeUri: .',
    '      Events:',
    ...events.map((e) => `        ${e}`),
  ].join('\n');

describe('HTTP APIs: the template model', () => {
  it("reads the functions' HttpApi events, their API's stage and authorization, and SAM's implicit API", async () => {
    // Act
    const model = await loadTemplate(HTTP_TEMPLATE);

    // Assess
    expect(model.httpApis.get('BackendApi')).to.include({
      stage: 'backend',
      defaultAuthorizer: 'AWS_IAM',
      iamAuthorizer: true,
      implicit: false,
    });
    expect(model.httpApis.get('ServerlessHttpApi')).to.include({ stage: '$default', implicit: true });
    const byName = new Map(model.httpRoutes.map((r) => [r.eventName, r]));
    expect(byName.get('Publish')).to.deep.equal({
      eventName: 'Publish',
      functionId: 'EchoFunction',
      apiLogicalId: 'BackendApi',
      routeKey: 'POST /messages',
      method: 'POST',
      path: '/messages',
      authorization: 'AWS_IAM',
      timeoutMs: 30_000,
    });
    expect(byName.get('Moderate')?.routeKey, 'Method in lower case').to.equal('POST /moderation');
    expect(byName.get('Item')).to.include({ routeKey: 'ANY /items/{id}', authorization: 'NONE' });
    expect(byName.get('Health')).to.include({ apiLogicalId: 'ServerlessHttpApi', authorization: 'NONE' });
    expect(byName.get('Slow')?.timeoutMs).to.equal(300);
    expect(model.functions.get('EchoFunction')?.environment.BACKEND_URL).to.equal(
      `https://${model.httpApis.get('BackendApi')?.apiId}.execute-api.us-east-1.amazonaws.com/backend`,
    );
  });

  it('makes an event without Path and Method the $default route, and takes Globals.HttpApi', async () => {
    // Act
    const model = await modelOf(
      [
        fn(['Any: { Type: HttpApi, Properties: { ApiId: !Ref Api } }']),
        '  Api: { Type: AWS::Serverless::HttpApi, Properties: { StageName: v1 } }',
        'Globals:',
        '  HttpApi: { Auth: { DefaultAuthorizer: AWS_IAM, EnableIamAuthorizer: true } }',
      ].join('\n'),
    );

    // Assess
    expect(model.httpRoutes[0]).to.include({ routeKey: '$default', path: '$default', method: 'ANY', authorization: 'AWS_IAM' });
    expect(model.httpApis.get('Api')?.stage).to.equal('v1');
  });

  it('refuses an ApiId that names no AWS::Serverless::HttpApi, and warns of an authorizer it does not play', async () => {
    // Act
    const wrong = await modelOf(fn(['E: { Type: HttpApi, Properties: { ApiId: !Ref Ws, Path: /x, Method: GET } }'])).catch((e: Error) => e);
    const jwt = await modelOf(fn(['E: { Type: HttpApi, Properties: { Path: /x, Method: GET, Auth: { Authorizer: MyJwt } } }']));

    // Assess
    expect((wrong as Error).message).to.match(/function Fn, HttpApi event E: ApiId must be a !Ref to an AWS::Serverless::HttpApi/);
    expect(jwt.httpRoutes[0]?.authorization).to.equal('MyJwt');
    expect(jwt.warnings.join('\n')).to.include('authorizer MyJwt is not played locally; the route refuses every request (401)');
  });
});

describe('HTTP APIs: routing', () => {
  let model: TemplateModel;
  before(async () => {
    model = await modelOf(
      [
        fn([
          // Least specific first: the order of the template decides nothing.
          'Greedy: { Type: HttpApi, Properties: { ApiId: !Ref Api, Path: "/items/{proxy+}", Method: ANY } }',
          'AnyParam: { Type: HttpApi, Properties: { ApiId: !Ref Api, Path: "/items/{id}", Method: ANY } }',
          'Param: { Type: HttpApi, Properties: { ApiId: !Ref Api, Path: "/items/{id}", Method: GET } }',
          'Exact: { Type: HttpApi, Properties: { ApiId: !Ref Api, Path: /items/new, Method: GET } }',
          'Fallback: { Type: HttpApi, Properties: { ApiId: !Ref Api } }',
          'Root: { Type: HttpApi, Properties: { Path: /status, Method: GET } }',
        ]),
        '  Api: { Type: AWS::Serverless::HttpApi, Properties: { StageName: v1 } }',
      ].join('\n'),
    );
  });
  const taken = (method: string, path: string): string | undefined => new HttpRouteTable(model).find(method, path)?.mounted.route.eventName;

  it('takes the most specific path (literal, then {name}, then {name+}), a method before ANY, else $default', () => {
    // Assess
    expect(taken('GET', '/v1/items/new')).to.equal('Exact');
    expect(taken('GET', '/v1/items/7')).to.equal('Param');
    expect(taken('PUT', '/v1/items/7')).to.equal('AnyParam');
    expect(taken('GET', '/v1/items/7/parts')).to.equal('Greedy');
    expect(taken('GET', '/v1/other')).to.equal('Fallback');
    expect(taken('GET', '/status')).to.equal('Root');
    expect(taken('POST', '/status'), 'the $default stage has no $default route').to.equal(undefined);
    expect(new HttpRouteTable(model).find('GET', '/v1/items/a%2Fb')?.pathParameters).to.deep.equal({ id: 'a/b' });
  });

  it('claims the paths under a named stage, and only the routes of a $default stage', () => {
    // Prepare
    const table = new HttpRouteTable(model);

    // Assess
    expect(table.serves('/v1/anything')).to.equal(true);
    expect(table.serves('/v1')).to.equal(true);
    expect(table.serves('/status')).to.equal(true);
    expect(table.serves('/')).to.equal(false);
    expect(table.serves('/v10/x')).to.equal(false);
  });

  it('gives each route its URL, found by event name or FunctionId.EventName', () => {
    // Prepare
    const routes = httpRouteInfos(model, 'http://127.0.0.1:3001');

    // Assess
    expect(httpRouteUrl(routes, 'Param')).to.equal('http://127.0.0.1:3001/v1/items/{id}');
    expect(httpRouteUrl(routes, 'Fn.Fallback')).to.equal('http://127.0.0.1:3001/v1');
    expect(httpRouteUrl(routes, 'Root')).to.equal('http://127.0.0.1:3001/status');
    expect(() => httpRouteUrl(routes, 'Nope')).to.throw(/no HttpApi event is named Nope/);
  });

  it('refuses routes that would hide the page, the WebSocket stage or the token issuer, or repeat a route', async () => {
    // Prepare
    const page = new Map([
      ['/', {}],
      ['/app.js', {}],
    ]);
    const clash = async (events: string[], more = ''): Promise<string> => {
      const m = await modelOf([fn(events), more].join('\n'));
      try {
        refuseHttpClashes(m, page);
        return 'started';
      } catch (e: unknown) {
        return (e as Error).message;
      }
    };

    // Assess
    expect(await clash(['E: { Type: HttpApi, Properties: { Path: /app.js, Method: GET } }'])).to.include('would hide one another');
    expect(await clash(['E: { Type: HttpApi, Properties: { Path: "/{proxy+}", Method: GET } }'])).to.include('at /{proxy+} and /');
    expect(await clash(['E: { Type: HttpApi }'])).to.include('$default (Fn, event E, API ServerlessHttpApi) at /');
    expect(await clash(['E: { Type: HttpApi, Properties: { Path: /ws/@connections/x, Method: POST } }'])).to.include('would hide');
    expect(await clash(['E: { Type: HttpApi, Properties: { Path: /_local/token, Method: GET } }'])).to.include('would hide');
    const sameStage = '  Api: { Type: AWS::Serverless::HttpApi, Properties: { StageName: ws } }';
    expect(await clash(['E: { Type: HttpApi, Properties: { ApiId: !Ref Api, Path: /x, Method: GET } }'], sameStage)).to.include(
      'would hide',
    );
    expect(
      await clash([
        'E: { Type: HttpApi, Properties: { Path: /x, Method: GET } }',
        'F: { Type: HttpApi, Properties: { Path: /x, Method: GET } }',
      ]),
    ).to.include('two HTTP API routes are GET /x at /');
    expect(await clash(['E: { Type: HttpApi, Properties: { Path: /x, Method: GET } }'])).to.equal('started');
  });
});
