import { expect } from 'chai';
import { header } from 'chat-core';
import { loadEvent } from '../helpers';

describe('layer: event', () => {
  describe('header()', () => {
    it('finds a header whatever the case of its name', () => {
      // Prepare
      const event = loadEvent('connect-chat-v1');

      // Assess
      expect(header(event, 'Sec-WebSocket-Protocol')).to.equal('chat.v1');
      expect(header(event, 'sec-websocket-protocol')).to.equal('chat.v1');
      expect(header(event, 'HOST')).to.equal('abcdef123.execute-api.us-east-1.amazonaws.com');
    });

    it('finds a header sent with a lower-case name', () => {
      // Prepare
      const event = loadEvent('connect');
      event.headers = { 'sec-websocket-protocol': 'chat.v1' };

      // Assess
      expect(header(event, 'Sec-WebSocket-Protocol')).to.equal('chat.v1');
    });

    it('is undefined for a missing header or an event without headers', () => {
      // Prepare
      const connect = loadEvent('connect');
      const message = loadEvent('sendmessage');

      // Assess
      expect(header(connect, 'Sec-WebSocket-Protocol')).to.equal(undefined);
      expect(message.headers).to.equal(undefined);
      expect(header(message, 'Host')).to.equal(undefined);
    });
  });

  describe('the sample events of events/', () => {
    it('carry what API Gateway sends each route', () => {
      // Prepare
      const expected = [
        ['connect', '$connect', 'CONNECT'],
        ['connect-chat-v1', '$connect', 'CONNECT'],
        ['disconnect', '$disconnect', 'DISCONNECT'],
        ['sendmessage', 'sendmessage', 'MESSAGE'],
        ['default', '$default', 'MESSAGE'],
        ['history', 'history', 'MESSAGE'],
        ['members', 'members', 'MESSAGE'],
      ] as const;

      // Assess
      for (const [file, routeKey, eventType] of expected) {
        const { requestContext } = loadEvent(file);
        expect(requestContext.routeKey, file).to.equal(routeKey);
        expect(requestContext.eventType, file).to.equal(eventType);
        expect(requestContext.connectionId, file).to.equal('Mg_ugfpqPHcCIVA=');
        expect(requestContext.stage, file).to.equal('production');
        expect(requestContext.identity.sourceIp, file).to.equal('192.0.2.1');
        expect(requestContext.connectedAt, file).to.equal(1643136604673);
      }
    });

    it('are deep copies: changing one leaves the next untouched', () => {
      // Prepare
      const first = loadEvent('connect');
      first.requestContext.connectionId = 'changed';
      first.headers = {};

      // Act
      const second = loadEvent('connect');

      // Assess
      expect(second.requestContext.connectionId).to.equal('Mg_ugfpqPHcCIVA=');
      expect(second.headers?.Host).to.equal('abcdef123.execute-api.us-east-1.amazonaws.com');
    });
  });
});
