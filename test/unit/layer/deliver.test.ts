import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import { deliver } from 'chat-core';
import { apiMock, connectionItem, ddbMock, framesTo, posts, resetMocks, MESSAGE_FRAME } from '../helpers';

/** The room: the sender and two others, one of them chat.v1. */
function givenRoom(): void {
  ddbMock.on(QueryCommand).resolves({
    Items: [
      connectionItem({ connectionId: 'sender', protocol: 'chat.v1' }),
      connectionItem({ connectionId: 'ann', protocol: 'chat.v1' }),
      connectionItem({ connectionId: 'bob' }),
    ],
  });
}

const SENDER = { connectionId: 'sender', protocol: 'chat.v1' as const, clientId: 'c-1' };

describe('layer: deliver (the one way a frame reaches a room)', () => {
  beforeEach(() => {
    resetMocks();
    apiMock.on(PostToConnectionCommand).resolves({});
    givenRoom();
  });

  it("posts to everyone but the sender, then confirms a chat.v1 sender with its clientId, after the room's posts", async () => {
    // Act
    const delivered = await deliver('lobby', { frame: MESSAGE_FRAME, repeat: false }, { from: SENDER });

    // Assess
    expect(posts().map((post) => post.to)).to.deep.equal(['ann', 'bob', 'sender']);
    expect(framesTo('sender')).to.deep.equal([{ ...MESSAGE_FRAME, clientId: 'c-1' }]);
    expect(framesTo('ann')).to.deep.equal([MESSAGE_FRAME]);
    expect(delivered).to.deep.include({ mode: 'direct', delivered: 2, redelivered: 0 });
  });

  it('confirms a repeat with the original and posts it to no one else', async () => {
    // Act
    await deliver('lobby', Promise.resolve({ frame: MESSAGE_FRAME, repeat: true }), { from: SENDER });

    // Assess
    expect(posts().map((post) => post.to)).to.deep.equal(['sender']);
  });

  it('confirms no plain sender, and no one without a sender (a backend, a notice)', async () => {
    // Act
    await deliver('lobby', { frame: MESSAGE_FRAME, repeat: false }, { from: { connectionId: 'bob', protocol: 'plain' } });
    const fromNobody = posts().length;
    await deliver('lobby', { frame: MESSAGE_FRAME, repeat: false });

    // Assess
    expect(fromNobody, 'posts for a plain sender').to.equal(2);
    expect(posts().length - fromNobody, 'posts without a sender: the whole room').to.equal(3);
  });

  it('delivers nothing when the store fails, and answers without rejecting (the caller answers with the store error)', async () => {
    // Act
    const delivered = await deliver('lobby', Promise.reject(new Error('store down')), { from: SENDER });

    // Assess
    expect(delivered).to.deep.equal({ mode: 'failed', redelivered: 0 });
    expect(posts()).to.deep.equal([]);
  });
});
