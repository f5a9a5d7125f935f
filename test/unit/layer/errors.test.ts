import { GoneException } from '@aws-sdk/client-apigatewaymanagementapi';
import { expect } from 'chai';
import { ChatError, isGone } from 'chat-core';
import { isChatError } from '../../../layers/chat-core/src/wire/errors';

describe('layer: errors', () => {
  describe('ChatError', () => {
    it('carries a stable code and a message for people', () => {
      // Act
      const error = new ChatError('invalid_room', 'room must be valid');

      // Assess
      expect(error).to.be.instanceOf(Error);
      expect(error.name).to.equal('ChatError');
      expect(error.code).to.equal('invalid_room');
      expect(error.message).to.equal('room must be valid');
    });

    it('is told apart from other errors by isChatError', () => {
      // Assess
      expect(isChatError(new ChatError('rate_limited', 'slow down'))).to.equal(true);
      expect(isChatError(Object.assign(new Error('x'), { name: 'ChatError', code: 'rate_limited' }))).to.equal(false);
      expect(isChatError('rate_limited')).to.equal(false);
    });
  });

  describe('isGone', () => {
    it("recognizes the SDK's GoneException class", () => {
      // Prepare
      const error = new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } });

      // Assess
      expect(isGone(error)).to.equal(true);
    });

    it('recognizes an error named GoneException from another copy of the SDK', () => {
      // Prepare
      const error = Object.assign(new Error('Gone'), { name: 'GoneException' });

      // Assess
      expect(isGone(error)).to.equal(true);
    });

    it('does not go by status codes (SDK v3 errors have no statusCode)', () => {
      // Prepare
      const byStatus = Object.assign(new Error('Gone'), { statusCode: 410, $metadata: { httpStatusCode: 410 } });

      // Assess
      expect(isGone(byStatus)).to.equal(false);
      expect(isGone({ name: 'GoneException' })).to.equal(false);
      expect(isGone(new Error('ForbiddenException'))).to.equal(false);
      expect(isGone(undefined)).to.equal(false);
    });
  });
});
