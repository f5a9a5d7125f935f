import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import { ChatError, limitConnect, limitRequest } from 'chat-core';
import { limitSubject, takeToken } from '../../../layers/chat-core/src/limits/rate-limit';
import { authorized, conditionFailed, ddbMock, expectRejection, loadEvent, resetMocks } from '../helpers';

/** 2022-01-25T18:50:07.642Z */
const NOW = 1643136607642;
const TABLE = 'rate-limits-table';

const bucketsTaken = (): unknown[] => ddbMock.commandCalls(UpdateItemCommand).map((call) => call.args[0].input.Key);

describe('layer: rate limits', () => {
  beforeEach(() => resetMocks());

  describe('takeToken (one GCRA token bucket)', () => {
    const bucket = { table: TABLE, key: { bucket: { S: 'request#ip#192.0.2.1' } }, limit: 4, attribute: 'rateAt', expiresAt: 1643136700 };

    it('creates or refills a full bucket from now, setting its TTL', async () => {
      // Act
      const taken = await takeToken(bucket, NOW);

      // Assess
      expect(taken).to.deep.equal({});
      const input = ddbMock.commandCalls(UpdateItemCommand)[0]?.args[0].input;
      expect(input).to.deep.include({
        TableName: TABLE,
        UpdateExpression: 'SET rateAt = :next, expiresAt = :expiresAt',
        ConditionExpression: 'attribute_not_exists(rateAt) OR rateAt <= :now',
      });
      expect(input?.ExpressionAttributeValues).to.deep.equal({
        ':now': { N: String(NOW) },
        ':next': { N: String(NOW + 2500) },
        ':expiresAt': { N: '1643136700' },
      });
    });

    it('takes one more interval while the bucket has tokens, and refuses (undefined) when it has none', async () => {
      // Prepare: not full; then empty
      ddbMock.on(UpdateItemCommand).rejectsOnce(conditionFailed()).resolvesOnce({}).rejects(conditionFailed());

      // Act
      const second = await takeToken(bucket, NOW);
      const refused = await takeToken(bucket, NOW);

      // Assess
      expect(second).to.deep.equal({});
      expect(refused).to.equal(undefined);
      const inBurst = ddbMock.commandCalls(UpdateItemCommand)[1]?.args[0].input;
      expect(inBurst).to.deep.include({
        UpdateExpression: 'SET rateAt = rateAt + :interval, expiresAt = :expiresAt',
        ConditionExpression: 'rateAt > :now AND rateAt <= :latest',
      });
      expect(inBurst?.ExpressionAttributeValues?.[':latest']).to.deep.equal({ N: String(NOW + 3 * 2500) });
    });
  });

  describe('limitSubject', () => {
    it('is the source IP when the connection is anonymous', () => {
      // Assess
      expect(limitSubject(loadEvent('history').requestContext)).to.equal('ip#192.0.2.1');
    });

    it("is the user id (the token's subject) when signed in, whatever the address", () => {
      // Assess
      expect(limitSubject(authorized(loadEvent('history'), { userId: 'u-1', name: 'ann' }).requestContext)).to.equal('user#u-1');
    });
  });

  describe('limitRequest (history, members, $default)', () => {
    it("takes a token from its source IP's bucket (the connection's own is recordRequest's)", async () => {
      // Act
      await limitRequest(loadEvent('members').requestContext, NOW);

      // Assess
      expect(bucketsTaken()).to.deep.equal([{ bucket: { S: 'request#ip#192.0.2.1' } }]);
    });

    it("refuses with rate_limited when the address's bucket is empty (many connections share it)", async () => {
      // Prepare
      ddbMock.on(UpdateItemCommand, { Key: { bucket: { S: 'request#ip#192.0.2.1' } } }).rejects(conditionFailed());

      // Act
      const error = await expectRejection(limitRequest(loadEvent('members').requestContext, NOW), ChatError);

      // Assess
      expect(error.code).to.equal('rate_limited');
      expect(error.message).to.equal('more than 100 requests in 10 seconds from your address; wait a moment');
    });

    it('lets a DynamoDB failure through (not a rate limit)', async () => {
      // Prepare
      ddbMock.on(UpdateItemCommand).rejects(new Error('ThrottlingException'));

      // Act
      const error = await expectRejection(limitConnect(loadEvent('connect').requestContext, NOW));

      // Assess
      expect(error).not.to.be.instanceOf(ChatError);
    });
  });
});
