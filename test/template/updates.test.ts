/**
 * `sam deploy` of an existing stack must put route changes live. API Gateway serves a stage's
 * deployment, a snapshot of the routes and integrations taken when it was made; CloudFormation
 * updates only what changed in the template, and ignores a changed DependsOn. So after a route
 * is added or pointed at another integration, the stage serves the change only if it deploys
 * by itself (AutoDeploy) or if the update makes it point at a new deployment (a Deployment
 * with a new logical id: updating an existing one's Description makes no new snapshot).
 *
 * The test makes both changes the way a developer would (following the template's own
 * conventions), transforms the template before and after as `sam deploy` would, and checks
 * the stage of the changed stack.
 */
import { expect } from 'chai';
import {
  TOOL_TIMEOUT_MS,
  describeApp,
  loadTemplate,
  referencedIds,
  resourcesOfType,
  transform,
  type AppInfo,
  type Resource,
  type Template,
  webSocketStages,
} from './helpers';

/** The route a developer adds, with its own integration of an existing function. */
const NEW_ROUTE = { logicalId: 'TypingRoute', integrationId: 'TypingIntegration', routeKey: 'typing' };

const dependsOn = (resource: Resource): string[] => [resource.DependsOn ?? []].flat();

/**
 * template.yaml with one route added and another retargeted. Whatever lists every route in
 * its DependsOn (the template's way of ordering the first deployment) lists the new one too.
 */
function changeRoutes(app: AppInfo): { template: Template; retargeted: string; integrationId: string } {
  const template = structuredClone(app.template);
  const [first, second] = app.routes;
  if (!first || !second) throw new Error('the test needs two routes to retarget one');
  const routeIds = app.routes.map((route) => route.logicalId);

  const existing = template.Resources[first.integrationId] as Resource;
  template.Resources[NEW_ROUTE.integrationId] = structuredClone(existing);
  template.Resources[NEW_ROUTE.logicalId] = {
    Type: 'AWS::ApiGatewayV2::Route',
    Properties: {
      ApiId: { Ref: app.apiId },
      RouteKey: NEW_ROUTE.routeKey,
      AuthorizationType: 'NONE',
      Target: { 'Fn::Sub': `integrations/\${${NEW_ROUTE.integrationId}}` },
    },
  };
  for (const resource of Object.values(template.Resources)) {
    if (routeIds.every((id) => dependsOn(resource).includes(id))) resource.DependsOn = [...dependsOn(resource), NEW_ROUTE.logicalId];
  }

  const route = template.Resources[first.logicalId] as Resource;
  route.Properties = { ...route.Properties, Target: { 'Fn::Sub': `integrations/\${${second.integrationId}}` } };
  return { template, retargeted: first.logicalId, integrationId: second.integrationId };
}

function theStage(cfn: Template): [string, Resource] {
  const stages = webSocketStages(cfn);
  expect(stages, 'stages').to.have.length(1);
  return stages[0]!;
}

/** Why the stage of `after` would keep serving what it served under `before`, or undefined if it would not. */
function staleStage(before: Template, after: Template): string | undefined {
  const [id, stage] = theStage(after);
  const props = stage.Properties ?? {};
  if (props.AutoDeploy === true) return undefined;
  const [deployment] = referencedIds(props.DeploymentId);
  if (deployment === undefined) return `${id} has neither AutoDeploy nor a DeploymentId`;
  if (deployment in before.Resources) {
    return `${id} keeps its deployment ${deployment}, which the update does not replace (AutoDeploy is ${String(props.AutoDeploy)})`;
  }
  return undefined;
}

describe('updates of an existing stack (sam deploy)', function () {
  this.timeout(TOOL_TIMEOUT_MS);
  let app: AppInfo;
  let original: Template;
  let changed: Template;
  let change: ReturnType<typeof changeRoutes>;

  before(async () => {
    app = describeApp(loadTemplate());
    change = changeRoutes(app);
    [original, changed] = await Promise.all([transform(app.template), transform(change.template)]);
  });

  it('transforms the changed template with the new route and the retargeted one (the change is real)', () => {
    expect(changed.Resources[NEW_ROUTE.logicalId]?.Properties?.RouteKey).to.equal(NEW_ROUTE.routeKey);
    expect(original.Resources).not.to.have.property(NEW_ROUTE.logicalId);
    const targetBefore = original.Resources[change.retargeted]?.Properties?.Target;
    const targetAfter = changed.Resources[change.retargeted]?.Properties?.Target;
    expect(referencedIds(targetAfter)).to.deep.equal([change.integrationId]);
    expect(targetAfter).not.to.deep.equal(targetBefore);
  });

  it('puts both changes live on the stage: it deploys them by itself or points at a new deployment', () => {
    expect(staleStage(original, changed)).to.equal(undefined);
  });

  it('deploys automatically, with no Deployment resource to keep in step, and only after every route exists', () => {
    for (const cfn of [original, changed]) {
      const [id, stage] = theStage(cfn);
      expect(stage.Properties?.AutoDeploy, `${id} AutoDeploy`).to.equal(true);
      expect(stage.Properties, id).not.to.have.property('DeploymentId');
      expect(resourcesOfType(cfn, 'AWS::ApiGatewayV2::Deployment'), 'Deployment resources').to.deep.equal([]);
      // API Gateway refuses to deploy an API without routes: the first deployment waits for them.
      const routes = resourcesOfType(cfn, 'AWS::ApiGatewayV2::Route').map(([routeId]) => routeId);
      expect(dependsOn(stage), `${id} DependsOn`).to.include.members(routes);
    }
  });
});
