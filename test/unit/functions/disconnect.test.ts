import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DeleteItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import { handler } from '../../../functions/disconnect';
import {
  CALLER_ID,
  apiMock,
  connectionItem,
  ddbMock,
  expectRejection,
  fakePresenceItems,
  framesTo,
  lambdaContext,
  loadEvent,
  resetMocks,
} from '../helpers';

describe('function: disconnect ($disconnect)', () => {
  beforeEach(() => {
    resetMocks();
    fakePresenceItems();
    ddbMock.on(QueryCommand).resolves({ Items: [] });
    apiMock.on(PostToConnectionCommand).resolves({});
  });

  it('tutorial: deletes the connection id', async () => {
    // Prepare
    ddbMock.on(DeleteItemCommand).resolves({ Attributes: connectionItem({ connectionId: CALLER_ID }) });

    // Act
    const result = await handler(loadEvent('disconnect'), lambdaContext('disconnect'));

    // Assess
    expect(result).to.deep.equal({ statusCode: 200 });
    const calls = ddbMock.commandCalls(DeleteItemCommand);
    expect(calls).to.have.length(1);
    expect(calls[0]?.args[0].input).to.deep.include({ TableName: 'connections-table', Key: { connectionId: { S: CALLER_ID } } });
  });

  it('tells the chat.v1 clients of the room who left, and no plain client', async () => {
    // Prepare
    ddbMock
      .on(DeleteItemCommand)
      .resolves({ Attributes: connectionItem({ connectionId: CALLER_ID, room: 'dev', name: 'alice', protocol: 'plain' }) });
    ddbMock.on(QueryCommand).resolves({
      Items: [
        connectionItem({ connectionId: 'bob-1', room: 'dev', name: 'bob', protocol: 'chat.v1' }),
        connectionItem({ connectionId: 'carol-1', room: 'dev', name: 'carol', protocol: 'plain' }),
      ],
    });

    // Act
    await handler(loadEvent('disconnect'), lambdaContext('disconnect'));

    // Assess
    expect(ddbMock.commandCalls(QueryCommand)[0]?.args[0].input.ExpressionAttributeValues?.[':room']).to.deep.equal({ S: 'dev' });
    expect(apiMock.commandCalls(PostToConnectionCommand)).to.have.length(1);
    expect(framesTo('bob-1')).to.deep.equal([{ type: 'presence', event: 'leave', room: 'dev', name: 'alice' }]);
  });

  it('an already removed connection: nothing to tell anyone', async () => {
    // Prepare
    ddbMock.on(DeleteItemCommand).resolves({});

    // Act
    const result = await handler(loadEvent('disconnect'), lambdaContext('disconnect'));

    // Assess
    expect(result).to.deep.equal({ statusCode: 200 });
    expect(ddbMock.commandCalls(QueryCommand)).to.have.length(0);
    expect(apiMock.calls()).to.have.length(0);
  });

  it('rethrows a DynamoDB failure', async () => {
    // Prepare
    ddbMock.on(DeleteItemCommand).rejects(new Error('ThrottlingException'));

    // Act
    const error = await expectRejection(handler(loadEvent('disconnect'), lambdaContext('disconnect')));

    // Assess
    expect(error.message).to.equal('ThrottlingException');
  });
  it('with auth on, tells the room who left with the user id the connection kept', async () => {
    // Prepare
    ddbMock
      .on(DeleteItemCommand)
      .resolves({ Attributes: connectionItem({ connectionId: CALLER_ID, room: 'dev', name: 'Sam', userId: 'user-sam-2' }) });
    ddbMock
      .on(QueryCommand)
      .resolves({ Items: [connectionItem({ connectionId: 'bob-1', room: 'dev', name: 'bob', protocol: 'chat.v1' })] });

    // Act
    await handler(loadEvent('disconnect'), lambdaContext('disconnect'));

    // Assess
    expect(framesTo('bob-1')).to.deep.equal([{ type: 'presence', event: 'leave', room: 'dev', name: 'Sam', userId: 'user-sam-2' }]);
  });
});
