/**
 * The HTTP APIs' wire on its own: the payload format 2.0 event, the result mapping, the caller's
 * identity, and the banner's route lines.
 */
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { expect } from 'chai';
import { httpRouteLines } from '../../src/cli/banner';
import { httpApiEvent, isTextContent } from '../../src/httpapi/events';
import { httpRouteInfos } from '../../src/httpapi/http-api';
import { IamAuthorizer } from '../../src/httpapi/iam-authorizer';
import { resultAnswer } from '../../src/httpapi/results';
import { accessKeyIdFor, LocalIam } from '../../src/iam/iam';
import { loadTemplate } from '../../src/template/template';
import { FIXTURE_TEMPLATE } from '../helpers';

const HTTP_TEMPLATE = join(FIXTURE_TEMPLATE, '..', 'http-api.yaml');

const request = (url: string, rawHeaders: string[], method = 'POST'): IncomingMessage => {
  const headers: Record<string, string> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) headers[(rawHeaders[i] as string).toLowerCase()] = rawHeaders[i + 1] as string;
  return {
    url,
    method,
    rawHeaders,
    headers,
    httpVersion: '1.1',
    socket: { remoteAddress: '::ffff:127.0.0.1' },
  } as unknown as IncomingMessage;
};

describe('HTTP APIs: the payload format 2.0 event', () => {
  const context = {
    routeKey: 'POST /m',
    stage: 'backend',
    apiId: 'abc',
    accountId: '123456789012',
    requestId: 'r=',
    pathParameters: {},
    port: 3001,
  };

  it('lower-cases header names, joins repeats, moves Cookie to cookies and passes a JSON body as text', () => {
    // Prepare
    const req = request('/backend/m?a=1&a=2&b=%20', [
      'Host',
      'localhost:3001',
      'Content-Type',
      'application/json',
      'X-Multi',
      'one',
      'x-multi',
      'two',
      'Cookie',
      'c1=1; c2=2',
    ]);

    // Act
    const event = httpApiEvent(req, Buffer.from('{"x":1}'), context);

    // Assess
    expect(event).to.include({
      version: '2.0',
      rawPath: '/backend/m',
      rawQueryString: 'a=1&a=2&b=%20',
      body: '{"x":1}',
      isBase64Encoded: false,
    });
    expect(event.cookies).to.deep.equal(['c1=1', 'c2=2']);
    expect(event.headers).to.include({
      host: 'localhost:3001',
      'x-multi': 'one,two',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-port': '3001',
    });
    expect(event.headers).not.to.have.property('cookie');
    expect(event.queryStringParameters).to.deep.equal({ a: '1,2', b: ' ' });
    expect(event.requestContext).to.include({ domainName: 'localhost:3001', domainPrefix: 'localhost', stage: 'backend', requestId: 'r=' });
    expect(event.requestContext.time).to.match(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(event).not.to.have.property('pathParameters');
  });

  it('base64-encodes a body that is not text, and sends none for an empty one', () => {
    // Act
    const binary = httpApiEvent(request('/x', ['Content-Type', 'application/octet-stream']), Buffer.from([1, 2, 3]), context);
    const empty = httpApiEvent(request('/x', [], 'GET'), Buffer.alloc(0), context);

    // Assess
    expect(binary).to.include({ body: 'AQID', isBase64Encoded: true });
    expect(empty).to.include({ isBase64Encoded: false }).and.not.to.have.property('body');
    expect(
      ['text/plain; charset=utf-8', 'application/json', 'application/vnd.api+json', 'application/xml'].map(isTextContent),
    ).to.deep.equal([true, true, true, true]);
    expect(['application/x-www-form-urlencoded', 'image/png', undefined].map(isTextContent)).to.deep.equal([false, false, false]);
  });
});

describe('HTTP APIs: results and callers', () => {
  it('maps a result with statusCode field by field, anything else to 200 JSON, a bad status to 500', () => {
    // Act
    const structured = resultAnswer({
      statusCode: 202,
      headers: { a: 'b', n: 1 },
      multiValueHeaders: { m: ['x', 'y'] },
      cookies: ['k=v'],
      body: 'hi',
    });
    const base64 = resultAnswer({ statusCode: 200, body: Buffer.from('bin').toString('base64'), isBase64Encoded: true });
    const bare = resultAnswer({ ok: true });
    const nothing = resultAnswer(undefined);
    const invalid = resultAnswer({ statusCode: 'soon' });

    // Assess
    expect(structured).to.deep.include({ status: 202, headers: { a: 'b', n: '1', m: ['x', 'y'], 'set-cookie': 'k=v' } });
    expect(structured.body.toString()).to.equal('hi');
    expect(base64.body.toString()).to.equal('bin');
    expect(bare).to.deep.include({ status: 200, headers: { 'content-type': 'application/json' } });
    expect(bare.body.toString()).to.equal('{"ok":true}');
    expect(nothing.body.toString()).to.equal('null');
    expect(invalid.status).to.equal(500);
    expect(JSON.parse(invalid.body.toString())).to.deep.equal({ message: 'Internal Server Error' });
  });

  it("names the tools' key as the IAM user local and a function's key as its role's session", async () => {
    // Prepare
    const model = await loadTemplate(HTTP_TEMPLATE);
    const authorizer = new IamAuthorizer(model, new LocalIam(model), () => undefined);

    // Act
    const tools = authorizer.identity('local');
    const fnCaller = authorizer.identity(accessKeyIdFor('ResultFunction'));

    // Assess
    expect(tools).to.include({
      accessKey: 'local',
      accountId: '123456789012',
      userArn: 'arn:aws:iam::123456789012:user/local',
      principalOrgId: null,
    });
    expect(tools.callerId).to.equal(tools.userId);
    expect(fnCaller.userArn).to.match(/^arn:aws:sts::123456789012:assumed-role\/ResultFunctionRole\/ResultFunction$/);
    expect(fnCaller.userId).to.match(/^AROA[A-Z2-7]{17}:ResultFunction$/);
    expect(authorizer.routeArn('abc', 'backend', 'POST', '/messages')).to.equal(
      'arn:aws:execute-api:us-east-1:123456789012:abc/backend/POST/messages',
    );
  });
});

describe('HTTP APIs: the banner', () => {
  it('prints a line per route: its event name, then its URL, then method, function and authorization', async () => {
    // Prepare
    const routes = httpRouteInfos(await loadTemplate(HTTP_TEMPLATE), 'http://127.0.0.1:3001');

    // Act
    const lines = httpRouteLines(routes, (url) => url.replace('//127.0.0.1:', '//localhost:'));

    // Assess
    expect(lines[0]).to.equal('  Publish         http://localhost:3001/backend/messages   (POST → EchoFunction, AWS_IAM)');
    const parsed = new Map(lines.map((l) => /^\s*(\S+)\s+(\S+)/.exec(l)?.slice(1, 3) as [string, string]));
    expect(parsed.get('Item')).to.equal('http://localhost:3001/backend/items/{id}');
    expect(parsed.get('Health')).to.equal('http://localhost:3001/health');
    expect(parsed.size).to.equal(routes.length);
  });
});
