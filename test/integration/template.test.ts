/**
 * The project's template.yaml as the local runtime reads it: what runs locally is what is
 * deployed. (How the runtime reads templates in general is tested beside it, in local/test.)
 */
import { expect } from 'chai';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { loadTemplate } from '../../local/src/template/template';
import { PROJECT_TEMPLATE, startRuntime, storeClient } from './helpers';

describe('the project template in the local runtime', () => {
  it("reads the project template: the tutorial's routes, selection expression and stage", async () => {
    const model = await loadTemplate(PROJECT_TEMPLATE);
    expect(model.routeSelectionExpression).to.equal('$request.body.action');
    expect(model.stage).to.equal('production');
    expect(model.warnings).to.deep.equal([]);
    const routes = Object.fromEntries([...model.routes.values()].map((r) => [r.routeKey, r.functionId]));
    expect(routes).to.include({
      $connect: 'ConnectFunction',
      $disconnect: 'DisconnectFunction',
      $default: 'DefaultFunction',
      sendmessage: 'SendMessageFunction',
    });
  });

  it('gives every routed function its CodeUri, Globals, layer and makefile build from functions/ (through the YAML anchor)', async () => {
    const model = await loadTemplate(PROJECT_TEMPLATE);
    for (const route of model.routes.values()) {
      const fn = model.functions.get(route.functionId);
      expect(fn, route.functionId).to.not.equal(undefined);
      expect(fn?.codeUri).to.match(/\/functions\/[a-z]+$/);
      expect(fn?.handler).to.equal('index.handler');
      expect(fn?.layers).to.deep.equal(['ChatCoreLayer']);
      expect(fn?.buildMethod).to.equal('makefile');
      expect(fn?.projectRoot, 'ProjectRootDirectory').to.match(/\/functions$/);
      expect(fn?.contextPath, 'ContextPath').to.match(/\/functions$/);
      expect(fn?.environment.CONNECTIONS_TABLE).to.equal('ConnectionsTable');
      // $connect and $disconnect post nothing themselves (presence goes out from the fan-out queue).
      if (route.routeKey !== '$connect' && route.routeKey !== '$disconnect') {
        expect(fn?.environment.CONNECTIONS_URL).to.equal(`https://${model.apiId}.execute-api.us-east-1.amazonaws.com/production`);
      }
      expect(fn?.timeoutSeconds).to.be.a('number').and.be.greaterThan(0);
      expect(fn?.logGroupName, "LoggingConfig: the stack's log group").to.equal(`/aws/lambda/local/${route.functionId}`);
    }
    expect(model.layers.get('ChatCoreLayer')?.buildMethod).to.equal('makefile');
    expect(model.tables.get('ConnectionsTable')?.ttlAttribute).to.equal('expiresAt');
  });

  it("creates the project template's tables with their keys and indexes", async () => {
    const runtime = await startRuntime({ templatePath: PROJECT_TEMPLATE });
    const db = storeClient(runtime);
    try {
      expect(runtime.tables).to.deep.equal({
        ConnectionsTable: 'ConnectionsTable',
        MessagesTable: 'MessagesTable',
        RateLimitsTable: 'RateLimitsTable',
      });
      const { Table: connections } = await db.send(new DescribeTableCommand({ TableName: 'ConnectionsTable' }));
      expect(connections?.KeySchema).to.deep.equal([{ AttributeName: 'connectionId', KeyType: 'HASH' }]);
      const byRoom = connections?.GlobalSecondaryIndexes?.find((i) => i.IndexName === 'byRoom');
      expect(byRoom?.KeySchema).to.deep.equal([
        { AttributeName: 'room', KeyType: 'HASH' },
        { AttributeName: 'connectionId', KeyType: 'RANGE' },
      ]);
      const declared = runtime.template.tables.get('ConnectionsTable')?.globalSecondaryIndexes.find((i) => i.IndexName === 'byRoom');
      expect(byRoom?.Projection, 'the projection the template declares').to.deep.equal(declared?.Projection);
      expect(byRoom?.Projection?.ProjectionType).to.be.a('string');
      const { Table: messages } = await db.send(new DescribeTableCommand({ TableName: 'MessagesTable' }));
      expect(messages?.KeySchema).to.deep.equal([
        { AttributeName: 'room', KeyType: 'HASH' },
        { AttributeName: 'id', KeyType: 'RANGE' },
      ]);
      const { Table: buckets } = await db.send(new DescribeTableCommand({ TableName: 'RateLimitsTable' }));
      expect(buckets?.KeySchema).to.deep.equal([{ AttributeName: 'bucket', KeyType: 'HASH' }]);
    } finally {
      db.destroy();
      await runtime.close();
    }
  });
});
