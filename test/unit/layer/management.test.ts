import {
  ApiGatewayManagementApiClient,
  GetConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { expect } from 'chai';
import { ManagementTimeoutError, getConnectionInfo, isGone } from 'chat-core';
import { managementApi } from '../../../layers/chat-core/src/platform/aws';
import { postToConnection } from '../../../layers/chat-core/src/platform/management';
import sinon from 'sinon';
import { apiMock, expectRejection, resetMocks, watch } from '../helpers';

const DATA = Buffer.from('hello, everyone!', 'utf8');

/** The options (second argument) of the n-th Management API `send`. */
function sendOptions(n: number): { abortSignal?: AbortSignal } | undefined {
  return (apiMock.send.getCall(n).args as unknown[])[1] as { abortSignal?: AbortSignal } | undefined;
}

describe('layer: management', () => {
  let clock: sinon.SinonFakeTimers | undefined;

  beforeEach(() => {
    resetMocks();
  });

  afterEach(() => {
    clock?.restore();
    clock = undefined;
  });

  describe('managementApi', () => {
    it('is built once per endpoint and reused', () => {
      // Act
      const first = managementApi();
      const again = managementApi('https://abcdef123.execute-api.us-east-1.amazonaws.com/production');
      const other = managementApi('https://chat.example.com/production');

      // Assess
      expect(first).to.be.instanceOf(ApiGatewayManagementApiClient);
      expect(again).to.equal(first);
      expect(other).not.to.equal(first);
      expect(managementApi('https://chat.example.com/production')).to.equal(other);
    });

    it("talks to CONNECTIONS_URL (the execute-api URL with its stage), not the event's domain", async () => {
      // Act
      const endpoint = await managementApi().config.endpoint?.();

      // Assess
      expect(endpoint?.protocol).to.equal('https:');
      expect(endpoint?.hostname).to.equal('abcdef123.execute-api.us-east-1.amazonaws.com');
      expect(endpoint?.path).to.equal('/production');
    });
  });

  describe('postToConnection', () => {
    it('posts the data to the connection, with an abort signal', async () => {
      // Prepare
      apiMock.on(PostToConnectionCommand).resolves({});

      // Act
      await postToConnection('c1', DATA);

      // Assess
      const calls = apiMock.commandCalls(PostToConnectionCommand);
      expect(calls).to.have.length(1);
      expect(calls[0]?.args[0].input.ConnectionId).to.equal('c1');
      expect(calls[0]?.args[0].input.Data).to.equal(DATA);
      expect(sendOptions(0)?.abortSignal).to.be.instanceOf(AbortSignal);
      expect(sendOptions(0)?.abortSignal?.aborted).to.equal(false);
    });

    it('lets a GoneException through as the SDK raised it', async () => {
      // Prepare
      const gone = new GoneException({ message: 'Gone', $metadata: {} });
      apiMock.on(PostToConnectionCommand).rejects(gone);

      // Act
      const error = await expectRejection(postToConnection('c1', DATA));

      // Assess
      expect(error).to.equal(gone);
      expect(isGone(error)).to.equal(true);
    });

    it('leaves no timer behind once the post is done', async () => {
      // Prepare
      clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      apiMock.on(PostToConnectionCommand).resolves({});

      // Act
      await postToConnection('c1', DATA, 500);

      // Assess
      expect(clock.countTimers()).to.equal(0);
    });

    it('bounds a post that never settles (SDK ignoring the abort) by timeoutMs, and aborts it', async () => {
      // Prepare
      clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      apiMock.on(PostToConnectionCommand).callsFake(() => new Promise(() => undefined));

      // Act
      const post = postToConnection('c1', DATA, 500);
      const state = watch(post);
      await clock.tickAsync(499);
      const settledBefore = state.settled;
      await clock.tickAsync(1);
      const error = await expectRejection(post, ManagementTimeoutError);

      // Assess
      expect(settledBefore).to.equal(false);
      expect(error.name).to.equal('ManagementTimeoutError');
      expect(error.message).to.equal('PostToConnection c1 took over 500 ms');
      expect(isGone(error)).to.equal(false);
      expect(sendOptions(0)?.abortSignal?.aborted).to.equal(true);
    });

    it('defaults to POST_TIMEOUT_MS (3000 ms)', async () => {
      // Prepare
      clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      apiMock.on(PostToConnectionCommand).callsFake(() => new Promise(() => undefined));

      // Act
      const post = postToConnection('c1', DATA);
      const state = watch(post);
      await clock.tickAsync(2999);
      const settledBefore = state.settled;
      await clock.tickAsync(1);
      const error = await expectRejection(post, ManagementTimeoutError);

      // Assess
      expect(settledBefore).to.equal(false);
      expect(error.message).to.equal('PostToConnection c1 took over 3000 ms');
    });

    it('still rejects in time when the SDK honours the abort', async () => {
      // Prepare: a request that fails as the SDK does once its signal is aborted
      clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      apiMock.on(PostToConnectionCommand).callsFake(() => {
        const signal = sendOptions(apiMock.send.callCount - 1)?.abortSignal;
        return new Promise((_, reject) => {
          signal?.addEventListener('abort', () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' })));
        });
      });

      // Act
      const post = postToConnection('c1', DATA, 200);
      const state = watch(post);
      await clock.tickAsync(200);

      // Assess
      expect(state.settled).to.equal(true);
      const error = await expectRejection(post);
      expect(error.name).to.equal('ManagementTimeoutError');
      expect(isGone(error)).to.equal(false);
    });
  });

  describe('getConnectionInfo', () => {
    it("maps GetConnection to the tutorial's fields, a missing user agent as null", async () => {
      // Prepare
      apiMock.on(GetConnectionCommand).resolves({
        ConnectedAt: new Date('2022-01-25T18:50:04.673Z'),
        Identity: { SourceIp: '192.0.2.1', UserAgent: undefined },
        LastActiveAt: new Date('2022-01-25T18:50:07.642Z'),
      });

      // Act
      const info = await getConnectionInfo('Mg_ugfpqPHcCIVA=');

      // Assess
      expect(info).to.deep.equal({
        ConnectedAt: new Date('2022-01-25T18:50:04.673Z'),
        Identity: { SourceIp: '192.0.2.1', UserAgent: null },
        LastActiveAt: new Date('2022-01-25T18:50:07.642Z'),
        connectionID: 'Mg_ugfpqPHcCIVA=',
      });
      expect(Object.keys(info)).to.deep.equal(['ConnectedAt', 'Identity', 'LastActiveAt', 'connectionID']);
      expect(apiMock.commandCalls(GetConnectionCommand)[0]?.args[0].input).to.deep.equal({ ConnectionId: 'Mg_ugfpqPHcCIVA=' });
      expect(sendOptions(0)?.abortSignal).to.be.instanceOf(AbortSignal);
    });

    it('keeps a user agent that is there', async () => {
      // Prepare
      apiMock.on(GetConnectionCommand).resolves({ Identity: { SourceIp: '198.51.100.7', UserAgent: 'wscat/5' } });

      // Act
      const info = await getConnectionInfo('c1');

      // Assess
      expect(info.Identity).to.deep.equal({ SourceIp: '198.51.100.7', UserAgent: 'wscat/5' });
    });

    it('bounds a GetConnection that never settles by timeoutMs', async () => {
      // Prepare
      clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      apiMock.on(GetConnectionCommand).callsFake(() => new Promise(() => undefined));

      // Act
      const info = getConnectionInfo('c1', 300);
      const state = watch(info);
      await clock.tickAsync(299);
      const settledBefore = state.settled;
      await clock.tickAsync(1);
      const error = await expectRejection(info, ManagementTimeoutError);

      // Assess
      expect(settledBefore).to.equal(false);
      expect(error.message).to.equal('GetConnection c1 took over 300 ms');
      expect(sendOptions(0)?.abortSignal?.aborted).to.equal(true);
    });

    it('lets a GoneException through', async () => {
      // Prepare
      apiMock.on(GetConnectionCommand).rejects(new GoneException({ message: 'Gone', $metadata: {} }));

      // Act
      const error = await expectRejection(getConnectionInfo('c1'), GoneException);

      // Assess
      expect(error.name).to.equal('GoneException');
    });
  });
});
