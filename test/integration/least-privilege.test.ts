/**
 * Least privilege, proven on the real handlers: template.yaml behind the local runtime with
 * IAM enforced (local/src/iam/iam.ts), every route and the fan-out path driven by real ws clients
 * through the behaviours that need each permission, then, for each function, every (action,
 * resource) its policies grant was used at least once, and no call was denied. And statically:
 * no grant is a wildcard action or "*" resource, and every resource is one of this stack's
 * tables, indexes, queues or its API stage's @connections.
 *
 * The scenario runs twice: with AuthMode=none (the tutorial) and with AuthMode=cognito, where
 * every client presents a token of the local issuer and the authorizer runs on each connect.
 *
 * Out of scope: the X-Ray write policy SAM adds for `Tracing: Active` (not in the template's
 * Policies; traces are not emulated), and CloudWatch Logs (AWSLambdaBasicExecutionRole).
 */
import { PutItemCommand, GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { expect } from 'chai';
import type { FunctionReport, LocalRuntime, LocalTokenIssuer } from '../../local/src/index';
import { runBackendCommand } from '../../scripts/backend-client';
import { MODERATE } from '../../scripts/moderate';
import { PUBLISH } from '../../scripts/publish';
import { connect, eventually, PROJECT_TEMPLATE, refusal, startRuntime, storeClient, type Client } from './helpers';

const V1 = ['chat.v1'];

interface Frame {
  type: string;
  [key: string]: unknown;
}

/** The next chat.v1 frame of `type` (other frames, e.g. presence, are skipped). */
async function frameOf(client: Client, type: string, timeoutMs = 10_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await client.next(Math.max(1, deadline - Date.now()));
    const frame = JSON.parse(text) as Frame;
    if (frame.type === type) return frame;
  }
}

for (const authMode of ['none', 'cognito'] as const)
  describe(`least privilege (template.yaml, AuthMode=${authMode}, IAM enforced, every route and the fan-out path)`, function () {
    this.timeout(120_000);
    let runtime: LocalRuntime;
    let db: DynamoDBClient;
    const clients: Client[] = [];
    const room = (label: string): string => `lp-${label}-${process.pid.toString(36)}-${Date.now().toString(36)}`;

    const join = async (r: string, name: string, protocols: string[] = V1): Promise<Client> => {
      const token = authMode === 'none' ? '' : `&token=${(await (runtime.issuer as LocalTokenIssuer).issue({ name })).token}`;
      const client = await connect(`${runtime.wsUrl}?room=${r}&name=${name}${token}`, { protocols } as never);
      clients.push(client);
      return client;
    };

    /** A connection the table has but API Gateway no longer knows (its $disconnect was lost), past the connect grace. */
    const staleConnection = async (r: string, id: string, protocol = 'chat.v1'): Promise<string> => {
      const now = Date.now();
      await db.send(
        new PutItemCommand({
          TableName: runtime.tables.ConnectionsTable,
          Item: {
            connectionId: { S: id },
            room: { S: r },
            name: { S: 'ghost' },
            protocol: { S: protocol },
            connectedAt: { N: String(now - 5 * 60_000) },
            expiresAt: { N: String(Math.floor(now / 1000) + 3600) },
            rateAt: { N: '0' },
          },
        }),
      );
      return id;
    };

    const removed = (id: string, what: string): Promise<true> =>
      eventually(
        async () => {
          const { Item } = await db.send(
            new GetItemCommand({ TableName: runtime.tables.ConnectionsTable, Key: { connectionId: { S: id } } }),
          );
          return Item === undefined ? true : undefined;
        },
        10_000,
        what,
      );

    before(async () => {
      runtime = await startRuntime({
        templatePath: PROJECT_TEMPLATE,
        iam: 'enforce',
        prewarm: true,
        // Rooms of more than 2 recipients go through the fan-out queue; 3 messages and 3 requests
        // per 10 s per connection.
        env: { FANOUT_THRESHOLD: '2', FANOUT_SHARD_SIZE: '2', MESSAGE_RATE_LIMIT: '3', REQUEST_RATE_LIMIT: '3' },
        parameterOverrides: { AuthMode: authMode },
      });
      db = storeClient(runtime);
    });

    after(async () => {
      await Promise.all(clients.map((c) => c.close()));
      db?.destroy();
      await runtime?.close();
    });

    it('drives every route and the fan-out path through the behaviours that need each permission', async () => {
      // $connect: the join noted (UpdateItem) and its flush queued (SendMessage); FanoutFunction
      // sends it, and removes a stale connection found on the way (BatchWriteItem).
      const small = room('small');
      const alice = await join(small, 'alice');
      const ghost1 = await staleConnection(small, 'ghost1AAAAAAAAA=');
      const bob = await join(small, 'bob');
      expect(await frameOf(alice, 'presence')).to.include({ event: 'join', name: 'bob' });
      await removed(ghost1, 'the presence flush removes the stale connection it posted to');

      // sendmessage, direct (2 recipients, the threshold): stored, posted, a stale connection removed.
      // With a clientId (GetItem of its record), then repeated (GetItem of the message): stored once.
      alice.send({ action: 'sendmessage', message: 'hello small room', clientId: 'lp-1' }); // 3 recipients: through the queue
      const smallMessage = await frameOf(bob, 'message');
      expect(smallMessage).to.include({ text: 'hello small room' });
      alice.send({ action: 'sendmessage', message: 'hello small room', clientId: 'lp-1' });
      const solo = room('solo');
      const dave = await join(solo, 'dave');
      // Plain: presence (the flush of dave's join) never posts to it, only sendmessage does.
      const ghost2 = await staleConnection(solo, 'ghost2AAAAAAAAA=', 'plain');
      dave.send({ action: 'sendmessage', message: 'hello solo room' });
      const soloMessage = await frameOf(dave, 'message');
      expect(soloMessage).to.include({ text: 'hello solo room' });
      await removed(ghost2, 'sendmessage removes the stale connection it posted to');

      // sendmessage past the rate limit: the rate_limited error (GetItem on the way). The bucket
      // (3 per 10 s) gives a token back every 3.3 s, and a token is taken when the function runs,
      // not when the frame is sent: on a busy machine 4 invocations queued on the sandboxes could
      // take that long, and the 4th find a token back. 8 frames would need 16.7 s for that.
      const limited = await join(room('rate'), 'carol');
      for (let i = 0; i < 8; i += 1) limited.send({ action: 'sendmessage', message: `m${i}` });
      expect(await frameOf(limited, 'error')).to.include({ code: 'rate_limited' });

      // $default (GetConnection, then the info reply), history, members.
      bob.send({ hello: 'there' }); // no action: $default
      expect(await frameOf(bob, 'info')).to.have.property('connectionID');
      bob.send({ action: 'history', limit: 10 });
      const page = await frameOf(bob, 'history');
      expect((page.messages as { text: string }[]).map((m) => m.text)).to.include('hello small room');
      bob.send({ action: 'members' });
      expect(((await frameOf(bob, 'members')).members as { name: string }[]).map((m) => m.name)).to.include('alice');

      // Refused requests: an error reply reads the caller's protocol, a refusal of the request
      // rate limit reads the connection's bucket (GetItem on the way, in each function).
      const erin = await join(room('requests'), 'erin');
      erin.send({ action: 'history', limit: 0 });
      expect(await frameOf(erin, 'error')).to.include({ code: 'invalid_request' });
      erin.send({ action: 'shout' });
      expect(await frameOf(erin, 'error')).to.include({ code: 'unknown_action' });
      for (let i = 0; i < 2; i += 1) erin.send({ action: 'members' });
      expect(await frameOf(erin, 'members')).to.have.property('members');
      expect(await frameOf(erin, 'error')).to.include({ code: 'rate_limited' });

      // The fan-out path: a room larger than the threshold, sharded through the queue, a stale
      // connection in a shard removed by FanoutFunction.
      const large = room('large');
      const members = [await join(large, 'l1'), await join(large, 'l2'), await join(large, 'l3')];
      const ghost3 = await staleConnection(large, 'ghost3AAAAAAAAA=');
      members[0]?.send({ action: 'sendmessage', message: 'hello large room' });
      for (const member of members) expect(await frameOf(member, 'message', 15_000)).to.include({ text: 'hello large room' });
      await removed(ghost3, 'FanoutFunction removes the stale connection of its shard');

      // A shard whose invocation has no time left to post puts its recipients back on the queue
      // (SendMessage); once time is normal again, they get the message.
      // 4 s: less than a post's 3 s and the 1.5 s reserve (no post starts), enough to queue.
      const fanoutQueued = (): number =>
        report()
          .find((r) => r.functionId === 'FanoutFunction')
          ?.grants.filter((g) => g.action === 'sqs:SendMessage')
          .reduce((sum, g) => sum + g.used, 0) ?? 0;
      runtime.faults.set({ timeout: { share: 1, functions: ['FanoutFunction'], afterMs: 4000 } });
      members[0]?.send({ action: 'sendmessage', message: 'hello again, large room' });
      await eventually(async () => (fanoutQueued() > 0 ? true : undefined), 15_000, 'FanoutFunction puts a shard back on the queue');
      runtime.faults.set({});
      for (const member of members.slice(1))
        expect(await frameOf(member, 'message', 20_000)).to.include({ text: 'hello again, large room' });

      // Posts of a shard that fail for good (429 on every attempt) are queued again by FanoutFunction
      // (SendMessage, a redelivery); once posts go through again, every member gets the message.
      members.push(await join(large, 'l4'));
      const queuedBefore = fanoutQueued();
      runtime.faults.set({ seed: 1, post: { throttle: 1, attempts: 3 } });
      members[0]?.send({ action: 'sendmessage', message: 'hello once more, large room' });
      await eventually(async () => (fanoutQueued() > queuedBefore ? true : undefined), 20_000, 'FanoutFunction queued a redelivery');
      runtime.faults.set({});
      for (const member of members.slice(1)) {
        await eventually(
          async () => (member.messages.some((m) => m.includes('hello once more, large room')) ? true : undefined),
          20_000,
          'the redelivery',
        );
      }

      // The backend API, signed as npm run publish and npm run moderate sign. PublishFunction: into
      // the solo room (direct: a stale connection removed on the way), again with the same id
      // (GetItem of its record), and into the large room (its shards queued). ModerateFunction: a
      // deletion in the solo room (direct, a stale connection removed) and in the large one
      // (queued), a ban (its record and the action's) and an unban; signed in, the ban closes the
      // person's connection (DELETE @connections). Over the WebSocket, a moderate frame from
      // someone who does not moderate: counted (the request bucket), and refused.
      const backend = runtime.httpApis.find((api) => api.logicalId === 'BackendApi')?.url ?? '';
      const call = async (which: typeof PUBLISH | typeof MODERATE, args: string[]): Promise<Record<string, unknown>> => {
        let out = '';
        let err = '';
        const io = { stdout: (t: string) => (out += t), stderr: (t: string) => (err += t) };
        const code = await runBackendCommand(which as typeof PUBLISH, [...args, '--local', '--url', backend], io);
        expect(code, `${which.name} ${args.join(' ')}: ${err}`).to.equal(0);
        return JSON.parse(out) as Record<string, unknown>;
      };
      const ghost5 = await staleConnection(solo, 'ghost5AAAAAAAAA=');
      await call(PUBLISH, ['--room', solo, '--text', 'a notice', '--id', 'lp-notice']);
      await removed(ghost5, 'PublishFunction removes the stale connection it posted to');
      await call(PUBLISH, ['--room', solo, '--text', 'a notice', '--id', 'lp-notice']);
      const published = (await call(PUBLISH, ['--room', large, '--text', 'a notice for many'])).message as { id: string };
      const got = (member: Client, fragment: string, what: string): Promise<true> =>
        eventually(async () => (member.messages.some((m) => m.includes(fragment)) ? true : undefined), 20_000, what);
      for (const member of members) await got(member, 'a notice for many', 'the published notice');
      const ghost6 = await staleConnection(solo, 'ghost6AAAAAAAAA=');
      await call(MODERATE, ['delete', '--room', solo, '--id', String(soloMessage.id)]);
      await removed(ghost6, 'ModerateFunction removes the stale connection it posted to');
      await call(MODERATE, ['delete', '--room', large, '--id', published.id]);
      for (const member of members) await got(member, `"deleted","room":"${large}","id":"${published.id}"`, 'the deletion');
      const banned = authMode === 'none' ? undefined : await (runtime.issuer as LocalTokenIssuer).issue({ name: 'mallory' });
      const banRoom = room('ban');
      const mallory = banned && (await connect(`${runtime.wsUrl}?room=${banRoom}&token=${banned.token}`, { protocols: V1 } as never));
      const ban = await call(MODERATE, ['ban', '--room', banRoom, '--user', banned?.sub ?? 'nobody', '--for', '1h']);
      expect(ban.closed).to.equal(mallory ? 1 : 0);
      if (mallory) await mallory.closed;
      await call(MODERATE, ['unban', '--room', banRoom, '--user', banned?.sub ?? 'nobody']);
      alice.send({ action: 'moderate', op: 'delete', id: String(smallMessage.id) });
      expect(await frameOf(alice, 'error')).to.include({ code: 'forbidden' });

      // $disconnect: removed, the leave noted and announced, a stale connection removed on the way (by the flush).
      const ghost4 = await staleConnection(small, 'ghost4AAAAAAAAA=');
      await bob.close();
      expect(await frameOf(alice, 'presence')).to.include({ event: 'leave', name: 'bob' });
      await removed(ghost4, 'the presence flush removes the stale connection it posted to');

      await eventually(
        async () => ((runtime.stats().FanoutFunction?.invocations ?? 0) > 0 ? true : undefined),
        10_000,
        'FanoutFunction ran',
      );
      if (authMode !== 'none') {
        // The authorizer ran for every connect, refusals included: it calls no AWS service.
        expect((await refusal(`${runtime.wsUrl}?room=${small}`)).status, 'a connect without a token').to.equal(401);
        expect(runtime.stats().AuthorizerFunction?.invocations, 'AuthorizerFunction invocations').to.be.at.least(8);
      }
    });

    it(authMode === 'none' ? 'has no authorizer to grant anything' : 'grants the authorizer nothing: it calls no AWS service', () => {
      const authorizer = report().find((r) => r.functionId === 'AuthorizerFunction');
      if (authMode === 'none') {
        expect(authorizer).to.equal(undefined);
        return;
      }
      expect(authorizer?.enforceable, 'AuthorizerFunction is enforced').to.equal(true);
      expect(authorizer?.grants).to.deep.equal([]);
      expect(authorizer?.used).to.deep.equal([]);
    });

    // Read after the scenario, however far it went: a denial that stopped it shows here.
    const report = (): FunctionReport[] => runtime.iam.report();

    it('denied no call of any function', () => {
      const reports = report();
      const denied = reports.flatMap((r) => r.denied.map((d) => `${d.functionId}: ${d.action} on ${d.resource} (${d.reason})`));
      expect(denied, 'calls the template does not allow').to.deep.equal([]);
    });

    it('used every permission each function is granted (an unused one is excess)', () => {
      const reports = report();
      const lines: string[] = [];
      const unused: string[] = [];
      for (const fn of reports) {
        expect(fn.enforceable, `${fn.functionId} is enforced (${fn.notes.join('; ')})`).to.equal(true);
        const used = fn.grants.filter((g) => g.used > 0).length;
        lines.push(
          `${fn.functionId.padEnd(20)} ${used}/${fn.grants.length} grants used, ${fn.used.length} (action, resource) called, ${fn.denied.length} denied`,
        );
        for (const grant of fn.grants)
          if (grant.used === 0) unused.push(`${fn.functionId}: ${grant.action} on ${grant.resource} (${grant.source})`);
      }
      console.log(`      least privilege:\n${lines.map((l) => `        ${l}`).join('\n')}`);
      expect(unused, 'granted but never used').to.deep.equal([]);
    });

    it('grants no wildcard action, no "*" resource, only this stack\'s tables, indexes, queues and API stage', () => {
      const { pseudo, apiId, stage } = runtime.template;
      const arn = (service: string, rest: string): string =>
        `arn:${pseudo.partition}:${service}:${pseudo.region}:${pseudo.accountId}:${rest}`;
      const scoped = new Set<string>();
      for (const table of runtime.template.tables.values()) {
        const tableArn = arn('dynamodb', `table/${table.tableName}`);
        scoped.add(tableArn);
        for (const index of [...table.globalSecondaryIndexes, ...table.localSecondaryIndexes])
          scoped.add(`${tableArn}/index/${index.IndexName}`);
      }
      for (const queue of runtime.template.queues.values()) scoped.add(queue.arn);
      const connections = new RegExp(
        `^${arn('execute-api', `${apiId}/${stage}`).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/(GET|POST|DELETE)/@connections/\\*$`,
      );
      const problems: string[] = [];
      for (const fn of report()) {
        for (const grant of fn.grants) {
          const where = `${fn.functionId} ${grant.source}: ${grant.action} on ${grant.resource}`;
          if (/[*?]/.test(grant.action)) problems.push(`${where}: wildcard action`);
          if (grant.resource === '*') problems.push(`${where}: every resource`);
          else if (!scoped.has(grant.resource) && !connections.test(grant.resource))
            problems.push(`${where}: not one of this stack's resources`);
        }
      }
      expect(problems).to.deep.equal([]);
    });
  });
