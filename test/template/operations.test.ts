/**
 * Operations, on the generated CloudFormation template: every alarm a person needs exists, watches
 * the metric of this stack that it names (the layer's own DeliveryFailures included, checked
 * against what chat-core really publishes), notifies the alarm topic, and fires when it should;
 * the e-mail subscription exists only with an address; the dashboard is valid JSON once
 * substituted and shows every function; the fan-out event source is bounded by a parameter.
 * Every list (functions, queues, alarms, the API and its stage) comes from the template.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { resolveValue, type ResolveContext } from '../../local/src/template/intrinsics';
import {
  ROOT,
  describeApp,
  loadGenerated,
  loadTemplate,
  output,
  referencedIds,
  resourcesOfType,
  run,
  subText,
  type Resource,
  type Template,
  webSocketStages,
} from './helpers';

interface AlarmProperties {
  AlarmDescription?: string;
  Namespace: unknown;
  MetricName: string;
  Dimensions?: Array<{ Name: string; Value: unknown }>;
  Statistic?: string;
  Period: number;
  EvaluationPeriods: number;
  DatapointsToAlarm?: number;
  Threshold: number;
  ComparisonOperator: string;
  TreatMissingData?: string;
  AlarmActions?: unknown[];
  OKActions?: unknown[];
}

interface GeneratedTemplate extends Template {
  Conditions?: Record<string, unknown>;
  Mappings?: ResolveContext['mappings'];
}

type Alarm = { id: string; props: AlarmProperties };

/** A metric as a dashboard row names it, the CloudWatch shorthands ("." and "...") expanded. */
interface DashboardMetric {
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
}

/** One EMF directive of chat-core's output: what CloudWatch makes metrics of. */
interface EmfDirective {
  Namespace: string;
  Dimensions: string[][];
  Metrics: Array<{ Name: string }>;
}

const COMPARISONS: Record<string, (value: number, threshold: number) => boolean> = {
  GreaterThanThreshold: (value, threshold) => value > threshold,
  GreaterThanOrEqualToThreshold: (value, threshold) => value >= threshold,
  LessThanThreshold: (value, threshold) => value < threshold,
  LessThanOrEqualToThreshold: (value, threshold) => value <= threshold,
};

/** Whether one datapoint of `value` puts the alarm in ALARM (threshold crossed, one datapoint enough). */
function firesOn(alarm: AlarmProperties, value: number): boolean {
  const compare = COMPARISONS[alarm.ComparisonOperator];
  if (!compare) throw new Error(`unknown ComparisonOperator ${alarm.ComparisonOperator}`);
  return compare(value, alarm.Threshold) && (alarm.DatapointsToAlarm ?? alarm.EvaluationPeriods) === 1;
}

const byName = (dimensions: Array<{ Name: string; Value: unknown }>): Array<{ Name: string; Value: unknown }> =>
  [...dimensions].sort((a, b) => a.Name.localeCompare(b.Name));

function expandMetricRows(rows: unknown[][]): DashboardMetric[] {
  const expanded: string[][] = [];
  for (const row of rows) {
    const values = row.filter((item): item is string => typeof item === 'string');
    const previous = expanded.at(-1) ?? [];
    expanded.push(
      values[0] === '...'
        ? [...previous.slice(0, previous.length - (values.length - 1)), ...values.slice(1)]
        : values.map((value, index) => (value === '.' ? (previous[index] ?? '.') : value)),
    );
  }
  return expanded.map(([namespace = '', metricName = '', ...pairs]) => ({
    namespace,
    metricName,
    dimensions: Object.fromEntries(pairs.flatMap((name, index) => (index % 2 === 0 ? [[name, pairs[index + 1] ?? '']] : []))),
  }));
}

const execFileAsync = promisify(execFile);

/** Runs chat-core's broadcast with one failing post under `environment`; returns its EMF output. */
async function publishedMetrics(environment: Record<string, string>): Promise<Array<Record<string, unknown>>> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...environment, POWERTOOLS_TRACE_ENABLED: 'false' };
  delete env.POWERTOOLS_DEV; // dev mode turns the metrics off: this run must print them as Lambda does
  delete env.POWERTOOLS_METRICS_DISABLED;
  const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', 'test/template/publish-delivery-metrics.ts'], {
    cwd: ROOT,
    env,
  });
  return stdout
    .split('\n')
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('operations: alarms, dashboard and the fan-out bound (generated template)', function () {
  let cfn: GeneratedTemplate;
  let apiId: string;
  let alarms: Alarm[];
  let topicId: string;
  let functionIds: string[];
  /** Resolves intrinsics as CloudFormation would, resources standing for their logical ids. */
  let resolve: (value: unknown, parameterOverrides?: Record<string, string>) => unknown;

  before(async () => {
    apiId = describeApp(loadTemplate()).apiId;
    const generated = await run('npm', ['run', '--silent', 'template:generate']);
    expect(generated.code, output(generated)).to.equal(0);
    cfn = loadGenerated() as GeneratedTemplate;
    alarms = resourcesOfType(cfn, 'AWS::CloudWatch::Alarm').map(([id, alarm]) => ({
      id,
      props: alarm.Properties as unknown as AlarmProperties,
    }));
    const topics = resourcesOfType(cfn, 'AWS::SNS::Topic');
    expect(topics, 'SNS topics').to.have.length(1);
    topicId = topics[0]![0];
    functionIds = resourcesOfType(cfn, 'AWS::Lambda::Function').map(([id]) => id);
    resolve = (value, parameterOverrides = {}) => {
      const parameters = Object.fromEntries(
        Object.entries(cfn.Parameters ?? {}).map(([name, spec]) => [name, parameterOverrides[name] ?? String(spec.Default ?? '')]),
      );
      return resolveValue(value, {
        pseudo: { region: 'us-east-1', accountId: '123456789012', partition: 'aws', urlSuffix: 'amazonaws.com', stackName: 'chat' },
        parameters,
        mappings: cfn.Mappings ?? {},
        conditions: cfn.Conditions ?? {},
        refResource: (id) => (id in cfn.Resources ? id : undefined),
        getAtt: (id, attribute) => `${id}.${attribute}`,
      });
    };
  });

  const alarmsOn = (namespace: string, metricName: string): Alarm[] =>
    alarms.filter(({ props }) => resolve(props.Namespace) === namespace && props.MetricName === metricName);

  it('notifies the alarm topic from every alarm, on alarm and on recovery, and tells the operator what to do', () => {
    expect(alarms).to.have.length.greaterThan(0);
    for (const { id, props } of alarms) {
      expect(props.AlarmActions, `${id} AlarmActions`).to.deep.equal([{ Ref: topicId }]);
      expect(props.OKActions, `${id} OKActions`).to.deep.equal([{ Ref: topicId }]);
      expect(props.TreatMissingData, `${id}: no data is no trouble`).to.equal('notBreaching');
      const description = resolve(props.AlarmDescription);
      expect(description, `${id} AlarmDescription`).to.be.a('string');
      expect((description as string).length, `${id} AlarmDescription length`).to.be.within(80, 1024);
    }
  });

  it('subscribes AlarmEmail to the topic only when it is set, and accepts only an address or nothing', () => {
    const subscriptions = resourcesOfType(cfn, 'AWS::SNS::Subscription');
    expect(subscriptions).to.have.length(1);
    const [, subscription] = subscriptions[0]!;
    expect(subscription.Properties).to.deep.equal({ TopicArn: { Ref: topicId }, Protocol: 'email', Endpoint: { Ref: 'AlarmEmail' } });
    const condition = (subscription as Resource & { Condition?: string }).Condition;
    expect(condition, "the subscription's Condition").to.be.a('string');
    expect(resolve({ Condition: condition }, { AlarmEmail: '' }), 'with no address').to.equal(false);
    expect(resolve({ Condition: condition }, { AlarmEmail: 'ops@example.com' }), 'with an address').to.equal(true);

    const parameter = cfn.Parameters?.AlarmEmail ?? {};
    expect(parameter.Default).to.equal('');
    const pattern = new RegExp(String(parameter.AllowedPattern));
    for (const accepted of ['', 'ops@example.com', 'first.last+chat@mail.example.org'])
      expect(pattern.test(accepted), accepted).to.equal(true);
    for (const refused of ['ops', 'ops@example', '@example.com', 'two words@example.com', 'a@b.c, d@e.f']) {
      expect(pattern.test(refused), refused).to.equal(false);
    }
  });

  /** The functions of the Lambda authorizers (AuthMode cognito or oidc). */
  const authorizerFunctions = (): Set<string> =>
    new Set(
      resourcesOfType(cfn, 'AWS::ApiGatewayV2::Authorizer').flatMap(([, authorizer]) =>
        referencedIds(authorizer.Properties?.AuthorizerUri),
      ),
    );

  it("alarms on each function's errors and on its throttles, naming the function, from the first one", () => {
    for (const metricName of ['Errors', 'Throttles']) {
      const watching = alarmsOn('AWS/Lambda', metricName);
      // An authorizer's Errors count every refused token: its failures are alarmed on apart (below).
      const watched = functionIds.filter((id) => metricName !== 'Errors' || !authorizerFunctions().has(id));
      for (const functionId of watched) {
        const mine = watching.filter(
          ({ props }) => JSON.stringify(props.Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: { Ref: functionId } }]),
        );
        expect(
          mine.map(({ id }) => id),
          `${metricName} alarm of ${functionId}`,
        ).to.have.length(1);
        const [{ id, props }] = mine as [Alarm];
        expect(props.Statistic, id).to.equal('Sum');
        expect(firesOn(props, 1), `${id} fires on one ${metricName}`).to.equal(true);
        expect(firesOn(props, 0), `${id} quiet at 0`).to.equal(false);
      }
      expect(watching, `${metricName} alarms for functions of no route or queue`).to.have.length(watched.length);
    }
  });

  it("alarms on an authorizer's own failures, counted from its log group, from the first one", () => {
    const authorizers = [...authorizerFunctions()];
    expect(authorizers, "the template's authorizer functions").to.have.length.greaterThan(0);
    for (const functionId of authorizers) {
      // The group its LoggingConfig names, where it logs.
      const [groupId] = referencedIds(
        (cfn.Resources[functionId]?.Properties?.LoggingConfig as { LogGroup?: unknown } | undefined)?.LogGroup,
      );
      const group = resourcesOfType(cfn, 'AWS::Logs::LogGroup').find(([id]) => id === groupId);
      expect(group, `${functionId}'s log group`).to.not.equal(undefined);
      const filters = resourcesOfType(cfn, 'AWS::Logs::MetricFilter').filter(([, f]) =>
        referencedIds(f.Properties?.LogGroupName).includes(group![0]),
      );
      expect(filters, `metric filters on ${functionId}'s log group`).to.have.length(1);
      const [transformation] = filters[0]![1].Properties?.MetricTransformations as Array<{
        MetricNamespace: unknown;
        MetricName: string;
        MetricValue: string;
      }>;
      expect(transformation?.MetricValue).to.equal('1');
      const mine = alarmsOn(String(resolve(transformation?.MetricNamespace)), String(transformation?.MetricName));
      expect(
        mine.map(({ id }) => id),
        `failures alarm of ${functionId}`,
      ).to.have.length(1);
      expect(firesOn(mine[0]!.props, 1), 'fires on one failure').to.equal(true);
      expect(firesOn(mine[0]!.props, 0), 'quiet at 0').to.equal(false);
    }
  });

  it('alarms on one message in each dead-letter queue', () => {
    const queues = resourcesOfType(cfn, 'AWS::SQS::Queue');
    const deadLetterQueues = queues.flatMap(([, queue]) =>
      referencedIds((queue.Properties?.RedrivePolicy as { deadLetterTargetArn?: unknown } | undefined)?.deadLetterTargetArn),
    );
    expect(deadLetterQueues).to.have.length.greaterThan(0);
    for (const queueId of deadLetterQueues) {
      const mine = alarmsOn('AWS/SQS', 'ApproximateNumberOfMessagesVisible').filter(
        ({ props }) =>
          JSON.stringify(props.Dimensions) === JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }]),
      );
      expect(mine, `alarm on ${queueId}`).to.have.length(1);
      const [{ id, props }] = mine as [Alarm];
      expect(props.Statistic, id).to.equal('Maximum');
      expect(props.Period, id).to.be.at.most(300);
      expect(firesOn(props, 1), `${id} fires on one message`).to.equal(true);
      expect(firesOn(props, 0), `${id} quiet on an empty queue`).to.equal(false);
    }
  });

  it("alarms on the WebSocket API's integration and execution errors, of this API and its stage", () => {
    const stages = webSocketStages(cfn);
    expect(stages).to.have.length(1);
    const stageName = stages[0]![1].Properties?.StageName;
    for (const metricName of ['IntegrationError', 'ExecutionError']) {
      const mine = alarmsOn('AWS/ApiGateway', metricName);
      expect(mine, `${metricName} alarms`).to.have.length(1);
      const [{ id, props }] = mine as [Alarm];
      expect(byName(props.Dimensions ?? []), id).to.deep.equal([
        { Name: 'ApiId', Value: { Ref: apiId } },
        { Name: 'Stage', Value: stageName },
      ]);
      expect(props.Statistic, id).to.equal('Sum');
      expect(firesOn(props, 0), `${id} quiet at 0`).to.equal(false);
    }
    expect(firesOn(alarmsOn('AWS/ApiGateway', 'ExecutionError')[0]!.props, 1), 'one execution error').to.equal(true);
  });

  it('alarms on DeliveryFailures with exactly the namespace and dimensions chat-core publishes it under', async () => {
    const [alarm, ...others] = alarms.filter(({ props }) => props.MetricName === 'DeliveryFailures');
    expect(others, 'one DeliveryFailures alarm').to.deep.equal([]);
    const { id, props } = alarm!;
    expect(firesOn(props, 1), `${id} fires on one failure`).to.equal(true);
    const alarmed = {
      namespace: resolve(props.Namespace),
      dimensions: byName(resolve(props.Dimensions) as AlarmProperties['Dimensions'] & object),
    };

    // Each distinct Powertools environment the functions get, as CloudFormation gives it to them.
    const environments = new Map<string, Record<string, string>>();
    for (const functionId of functionIds) {
      const variables =
        ((cfn.Resources[functionId]?.Properties?.Environment ?? {}) as { Variables?: Record<string, unknown> }).Variables ?? {};
      for (const name of ['POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE']) {
        expect(variables[name], `${functionId} ${name}`).to.be.a('string');
      }
      const powertools = Object.fromEntries(
        Object.entries(variables).filter(
          (entry): entry is [string, string] => entry[0].startsWith('POWERTOOLS_') && typeof entry[1] === 'string',
        ),
      );
      environments.set(JSON.stringify(powertools), powertools);
    }
    for (const environment of environments.values()) {
      const lines = await publishedMetrics(environment);
      const published = lines.flatMap((line) =>
        ((line._aws as { CloudWatchMetrics: EmfDirective[] }).CloudWatchMetrics ?? [])
          .filter((directive) => directive.Metrics.some((metric) => metric.Name === 'DeliveryFailures'))
          .flatMap((directive) =>
            directive.Dimensions.map((names) => ({
              namespace: directive.Namespace,
              dimensions: byName(names.map((name) => ({ Name: name, Value: line[name] }))),
            })),
          ),
      );
      expect(published, `DeliveryFailures published with ${JSON.stringify(environment)}`).to.have.length.greaterThan(0);
      expect(published, `${id} matches a dimension set CloudWatch gets`).to.deep.include(alarmed);
    }
  });

  // With every AuthMode: the authorizer, its alarms and widgets exist only with cognito or oidc.
  for (const authMode of ['none', 'cognito', 'oidc'])
    it(`has a dashboard whose body is JSON once substituted, shows every function, alarm, queue and the API's stage (AuthMode ${authMode})`, () => {
      const overrides = { AuthMode: authMode };
      const exists = (id: string): boolean => {
        const condition = cfn.Resources[id]?.Condition;
        return condition === undefined || resolve({ Condition: condition }, overrides) === true;
      };
      const dashboards = resourcesOfType(cfn, 'AWS::CloudWatch::Dashboard');
      expect(dashboards).to.have.length(1);
      const [, dashboard] = dashboards[0]!;
      const body = JSON.parse(String(resolve(dashboard.Properties?.DashboardBody, overrides))) as {
        widgets: Array<{ type: string; properties: { region?: string; metrics?: unknown[][]; alarms?: string[] } }>;
      };
      const metricWidgets = body.widgets.filter((widget) => widget.type === 'metric');
      for (const widget of metricWidgets) expect(widget.properties.region, "every metric widget's region").to.equal('us-east-1');
      const shown = metricWidgets.flatMap((widget) => expandMetricRows(widget.properties.metrics ?? []));
      const shows = (namespace: string, metricName: string, dimensions: Record<string, string>): boolean =>
        shown.some(
          (metric) =>
            metric.namespace === namespace &&
            metric.metricName === metricName &&
            JSON.stringify(metric.dimensions) === JSON.stringify(dimensions),
        );

      for (const functionId of functionIds.filter(exists)) {
        for (const metricName of ['Errors', 'Throttles', 'Duration']) {
          expect(shows('AWS/Lambda', metricName, { FunctionName: functionId }), `${metricName} of ${functionId}`).to.equal(true);
        }
      }
      const stage = String(resolve(webSocketStages(cfn)[0]![1].Properties?.StageName));
      for (const metricName of ['ConnectCount', 'MessageCount', 'IntegrationLatency', 'IntegrationError', 'ExecutionError']) {
        expect(shows('AWS/ApiGateway', metricName, { ApiId: apiId, Stage: stage }), metricName).to.equal(true);
      }
      for (const [queueId] of resourcesOfType(cfn, 'AWS::SQS::Queue')) {
        expect(shows('AWS/SQS', 'ApproximateNumberOfMessagesVisible', { QueueName: `${queueId}.QueueName` }), queueId).to.equal(true);
      }
      const deliveryAlarm = alarms.find(({ props }) => props.MetricName === 'DeliveryFailures')!.props;
      const chatDimensions = Object.fromEntries(
        (resolve(deliveryAlarm.Dimensions) as Array<{ Name: string; Value: string }>).map((d) => [d.Name, d.Value]),
      );
      for (const metricName of ['Messages', 'Deliveries', 'DeliveryFailures']) {
        expect(shows(String(resolve(deliveryAlarm.Namespace)), metricName, chatDimensions), metricName).to.equal(true);
      }
      const listed = body.widgets.flatMap((widget) => (widget.type === 'alarm' ? (widget.properties.alarms ?? []) : []));
      expect([...listed].sort(), 'the alarm widgets list every alarm').to.deep.equal(
        alarms
          .filter(({ id }) => exists(id))
          .map(({ id }) => `${id}.Arn`)
          .sort(),
      );
    });

  it("outputs the dashboard's console URL", () => {
    const [[dashboardId]] = resourcesOfType(cfn, 'AWS::CloudWatch::Dashboard') as [[string, Resource]];
    expect(subText(cfn.Outputs?.DashboardURL?.Value)).to.equal(
      `https://\${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=\${AWS::Region}#dashboards:name=\${${dashboardId}}`,
    );
  });

  it("bounds every queue event source's concurrency by a Tuning constant within Lambda's 2-1000", () => {
    const mappings = resourcesOfType(cfn, 'AWS::Lambda::EventSourceMapping').filter(([, mapping]) =>
      referencedIds(mapping.Properties?.EventSourceArn).some((id) => cfn.Resources[id]?.Type === 'AWS::SQS::Queue'),
    );
    expect(mappings).to.have.length.greaterThan(0);
    for (const [id, mapping] of mappings) {
      const bound = (mapping.Properties?.ScalingConfig as { MaximumConcurrency?: Record<string, unknown> } | undefined)?.MaximumConcurrency;
      const [map, top, second] = (bound?.['Fn::FindInMap'] ?? []) as string[];
      expect(map, `${id} ScalingConfig.MaximumConcurrency from Mappings.Tuning`).to.equal('Tuning');
      expect(cfn.Mappings?.[map as string]?.[top as string]?.[second as string])
        .to.be.a('number')
        .within(2, 1000);
    }
  });
});
