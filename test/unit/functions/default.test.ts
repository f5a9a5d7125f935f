import { GetConnectionCommand, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import sinon from 'sinon';
import { handler } from '../../../functions/default';
import {
  CALLER_ID,
  apiMock,
  conditionFailed,
  ddbMock,
  givenCaller,
  expectRejection,
  framesTo,
  lambdaContext,
  loadEvent,
  posts,
  resetMocks,
} from '../helpers';

const TUTORIAL_REPLY =
  'Use the sendmessage route to send a message. Your info: {"ConnectedAt":"2022-01-25T18:50:04.673Z","Identity":{"SourceIp":"192.0.2.1","UserAgent":null},"LastActiveAt":"2022-01-25T18:50:07.642Z","connectionID":"Mg_ugfpqPHcCIVA="}';

function caller(protocol: 'plain' | 'chat.v1' | undefined): void {
  givenCaller(protocol && { protocol });
}

function withBody(body: string | null): ReturnType<typeof loadEvent> {
  const event = loadEvent('default');
  event.body = body;
  return event;
}

describe('function: default ($default)', () => {
  beforeEach(() => {
    resetMocks();
    apiMock.on(PostToConnectionCommand).resolves({});
    // What the SDK returns: Dates, and no UserAgent when API Gateway has none
    apiMock.on(GetConnectionCommand).resolves({
      ConnectedAt: new Date('2022-01-25T18:50:04.673Z'),
      Identity: { SourceIp: '192.0.2.1', UserAgent: undefined },
      LastActiveAt: new Date('2022-01-25T18:50:07.642Z'),
    });
  });

  it('tutorial: replies to the sender only, exactly as the tutorial does', async () => {
    // Prepare
    caller('plain');

    // Act
    const result = await handler(loadEvent('default'), lambdaContext('default'));

    // Assess
    expect(result).to.deep.equal({ statusCode: 200 });
    expect(posts()).to.deep.equal([{ to: CALLER_ID, text: TUTORIAL_REPLY }]);
    expect(apiMock.commandCalls(GetConnectionCommand)[0]?.args[0].input).to.deep.equal({ ConnectionId: CALLER_ID });
  });

  it('tutorial: the same reply to a caller the table does not know, and for any body', async () => {
    // Prepare
    caller(undefined);

    // Act
    await handler(withBody('{"action":"nonsense"}'), lambdaContext('default'));
    await handler(withBody('not json at all'), lambdaContext('default'));
    await handler(withBody(null), lambdaContext('default'));

    // Assess
    expect(posts()).to.deep.equal([
      { to: CALLER_ID, text: TUTORIAL_REPLY },
      { to: CALLER_ID, text: TUTORIAL_REPLY },
      { to: CALLER_ID, text: TUTORIAL_REPLY },
    ]);
  });

  it('keeps the user agent when API Gateway reports one', async () => {
    // Prepare
    caller('plain');
    apiMock.on(GetConnectionCommand).resolves({
      ConnectedAt: new Date('2022-01-25T18:50:04.673Z'),
      Identity: { SourceIp: '192.0.2.1', UserAgent: 'wscat' },
      LastActiveAt: new Date('2022-01-25T18:50:07.642Z'),
    });

    // Act
    await handler(loadEvent('default'), lambdaContext('default'));

    // Assess
    expect(posts()[0]?.text).to.equal(TUTORIAL_REPLY.replace('"UserAgent":null', '"UserAgent":"wscat"'));
  });

  it('chat.v1: the same information as an info frame, for a JSON object without action', async () => {
    // Prepare
    caller('chat.v1');

    // Act
    await handler(withBody('{"hello":"there"}'), lambdaContext('default'));

    // Assess
    expect(framesTo(CALLER_ID)).to.deep.equal([
      {
        type: 'info',
        message: 'Use the sendmessage route to send a message.',
        ConnectedAt: '2022-01-25T18:50:04.673Z',
        Identity: { SourceIp: '192.0.2.1', UserAgent: null },
        LastActiveAt: '2022-01-25T18:50:07.642Z',
        connectionID: CALLER_ID,
      },
    ]);
  });

  for (const [label, body, code, message] of [
    ['malformed JSON (the sample event\'s "test")', 'test', 'invalid_json', 'the frame is not valid JSON'],
    ['a JSON array', '[1,2,3]', 'invalid_request', 'the frame must be a JSON object'],
    ['a non-string action', '{"action":42}', 'invalid_request', 'action must be a string'],
    [
      'an unknown action',
      '{"action":"shout","message":"hi"}',
      'unknown_action',
      'unknown action "shout"; the actions are sendmessage, history and members',
    ],
  ] as const) {
    it(`chat.v1: answers ${label} with an error frame (${code})`, async () => {
      // Prepare
      caller('chat.v1');

      // Act
      const result = await handler(withBody(body), lambdaContext('default'));

      // Assess
      expect(result).to.deep.equal({ statusCode: 200 });
      expect(framesTo(CALLER_ID)).to.deep.equal([{ type: 'error', code, message }]);
    });
  }

  it('chat.v1: quotes at most 64 characters of an unknown action', async () => {
    // Prepare
    caller('chat.v1');

    // Act
    await handler(withBody(JSON.stringify({ action: 'x'.repeat(500) })), lambdaContext('default'));

    // Assess
    expect(framesTo(CALLER_ID)[0]?.message).to.equal(
      `unknown action "${'x'.repeat(64)}"; the actions are sendmessage, history and members`,
    );
  });

  it('answers nobody, and succeeds, when the caller left before GetConnection (410)', async () => {
    // Prepare
    caller('plain');
    apiMock.on(GetConnectionCommand).rejects(new GoneException({ message: 'Gone', $metadata: {} }));

    // Act
    const result = await handler(loadEvent('default'), lambdaContext('default'));

    // Assess
    expect(result).to.deep.equal({ statusCode: 200 });
    expect(posts()).to.deep.equal([]);
  });

  it('rethrows a Management API failure other than Gone, telling the client nothing', async () => {
    // Prepare
    caller('plain');
    apiMock.on(GetConnectionCommand).rejects(new Error('AccessDeniedException'));

    // Act
    const error = await expectRejection(handler(loadEvent('default'), lambdaContext('default')));

    // Assess
    expect(error.message).to.equal('AccessDeniedException');
    expect(apiMock.commandCalls(PostToConnectionCommand)).to.have.length(0);
  });

  it('answers from the event when GetConnection is too slow: the same reply, no "Internal server error"', async () => {
    // Prepare: GetConnection hangs past POST_TIMEOUT_MS (3 s)
    caller('plain');
    apiMock.on(GetConnectionCommand).callsFake(() => new Promise(() => undefined));
    const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });

    // Act
    const done = handler(loadEvent('default'), lambdaContext('default'));
    await clock.tickAsync(3000);
    const result = await done;
    clock.restore();

    // Assess: the sample event's connectedAt, source IP and request time
    expect(result).to.deep.equal({ statusCode: 200 });
    expect(posts()).to.deep.equal([{ to: CALLER_ID, text: TUTORIAL_REPLY }]);
  });

  it('a plain caller over the request rate limit gets "Error: …" and no GetConnection is made', async () => {
    // Prepare: the source IP's request bucket is empty
    caller('plain');
    ddbMock.on(UpdateItemCommand, { Key: { bucket: { S: 'request#ip#192.0.2.1' } } }).rejects(conditionFailed());

    // Act
    await handler(loadEvent('default'), lambdaContext('default'));

    // Assess
    expect(posts()).to.deep.equal([
      { to: CALLER_ID, text: 'Error: more than 100 requests in 10 seconds from your address; wait a moment' },
    ]);
    expect(apiMock.commandCalls(GetConnectionCommand)).to.have.length(0);
  });
});
