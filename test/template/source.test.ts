/**
 * Checks that are simplest on template.yaml itself (before the SAM transform): the layout
 * of functions and layers on disk, their build metadata, the tutorial's API shape and the
 * console experience (parameters grouped and labelled).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { ROOT, TEMPLATE_PATH, describeApp, loadTemplate, routeDirectory, type AppInfo } from './helpers';

/** SPEC §3: the tutorial's routes, which must exist exactly (more routes may follow). */
const TUTORIAL_ROUTES = ['$connect', '$disconnect', '$default', 'sendmessage'];

describe('template.yaml', () => {
  let app: AppInfo;
  before(() => {
    app = describeApp(loadTemplate());
  });

  it('is a SAM template', () => {
    expect(app.template.Transform).to.equal('AWS::Serverless-2016-10-31');
  });

  it("declares the tutorial's WebSocket API: selection expression, routes and stage", () => {
    const api = app.template.Resources[app.apiId]?.Properties ?? {};
    expect(api.RouteSelectionExpression).to.equal('$request.body.action');
    expect(api.Name).to.deep.equal({ 'Fn::Sub': '${AWS::StackName}-chat' });
    const keys = app.routes.map((route) => route.routeKey);
    expect(keys).to.include.members(TUTORIAL_ROUTES);
    expect(new Set(keys).size, 'route keys are unique').to.equal(keys.length);
    expect(app.template.Parameters?.StageName?.Default).to.equal('production');
    const stages = Object.values(app.template.Resources).filter((resource) => resource.Type === 'AWS::ApiGatewayV2::Stage');
    expect(stages.map((stage) => stage.Properties?.StageName)).to.deep.equal([{ Ref: 'StageName' }]);
  });

  it('creates the self-deploying stage after every route (else its first deployment may lack them)', () => {
    const stages = Object.values(app.template.Resources).filter((resource) => resource.Type === 'AWS::ApiGatewayV2::Stage');
    expect(stages).to.have.length(1);
    expect(stages[0]!.Properties?.AutoDeploy).to.equal(true);
    const dependsOn = [stages[0]!.DependsOn ?? []].flat();
    expect(dependsOn).to.include.members(app.routes.map((route) => route.logicalId));
  });

  it('has one function per route, in functions/<route>/, and no function directory left out', () => {
    for (const route of app.routes) {
      const fn = app.functions.find((candidate) => candidate.logicalId === route.functionId);
      expect(fn?.codeUri, route.routeKey).to.equal(`functions/${routeDirectory(route.routeKey)}`);
    }
    const onDisk = readdirSync(path.join(ROOT, 'functions'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => `functions/${entry.name}`)
      .sort();
    expect(app.functions.map((fn) => fn.codeUri).sort()).to.deep.equal(onDisk);
  });

  it('has a sample event of every route in events/<route>.json, for sam local invoke -e', () => {
    for (const route of app.routes) {
      const file = path.join(ROOT, 'events', `${routeDirectory(route.routeKey)}.json`);
      expect(existsSync(file), `${route.routeKey}: ${path.relative(ROOT, file)}`).to.equal(true);
      const event = JSON.parse(readFileSync(file, 'utf8')) as { requestContext?: { routeKey?: string } };
      expect(event.requestContext?.routeKey, path.relative(ROOT, file)).to.equal(route.routeKey);
    }
  });

  it("builds each function from functions/ with its Makefile: its folder's index.ts, the layer's packages external, for the template's runtime", () => {
    const layerPackages = app.layers.map((layer) => layer.packageName);
    const runtime = String(app.template.Globals?.Function?.Runtime);
    const makefile = readFileSync(path.join(ROOT, 'functions', 'Makefile'), 'utf8');
    const script = readFileSync(path.join(ROOT, 'functions', 'build.mjs'), 'utf8');
    expect(makefile, 'functions/Makefile: one rule for every build-<FunctionLogicalId>').to.match(
      /^build-%:\n\tnode build\.mjs "\$\*" "\$\(ARTIFACTS_DIR\)"$/m,
    );
    for (const packageName of layerPackages) expect(script, `build.mjs keeps ${packageName} external`).to.include(`'${packageName}'`);
    expect(script).to.include(`target: 'node${runtime.replace(/^nodejs|\.x$/g, '')}'`);
    for (const fn of app.functions) {
      expect(existsSync(path.join(ROOT, fn.codeUri, 'index.ts')), `${fn.codeUri}/index.ts`).to.equal(true);
      expect(fn.metadata, fn.logicalId).to.deep.equal({
        BuildMethod: 'makefile',
        BuildArchitecture: 'arm64',
        ProjectRootDirectory: 'functions',
        ContextPath: 'functions',
      });
      // build.mjs finds the folder by the logical id: <Name>Function builds functions/<name>.
      expect(fn.codeUri, fn.logicalId).to.equal(`functions/${fn.logicalId.replace(/Function$/, '').toLowerCase()}`);
      expect(fn.properties.Runtime ?? runtime, fn.logicalId).to.equal('nodejs24.x');
    }
  });

  it('builds each layer with its Makefile into nodejs/node_modules/<package>', () => {
    expect(app.layers).to.have.length.greaterThan(0);
    for (const layer of app.layers) {
      expect(layer.metadata.BuildMethod, layer.logicalId).to.equal('makefile');
      expect(layer.metadata.BuildArchitecture, layer.logicalId).to.equal('arm64');
      const makefile = readFileSync(path.join(ROOT, layer.contentUri, 'Makefile'), 'utf8');
      expect(makefile, `${layer.contentUri}/Makefile`).to.match(new RegExp(`^build-${layer.logicalId}:`, 'm'));
      expect(makefile).to.include(`$(ARTIFACTS_DIR)/nodejs/node_modules/${layer.packageName}`);
      const props = app.template.Resources[layer.logicalId]?.Properties ?? {};
      expect(props.CompatibleRuntimes).to.deep.equal([app.template.Globals?.Function?.Runtime]);
      expect(props.CompatibleArchitectures).to.deep.equal(app.template.Globals?.Function?.Architectures);
    }
  });

  it('sets the runtime settings once, in Globals', () => {
    const globals = app.template.Globals?.Function ?? {};
    expect(globals.Runtime).to.equal('nodejs24.x');
    expect(globals.Architectures).to.deep.equal(['arm64']);
    expect(globals.Tracing).to.deep.equal({ Ref: 'Tracing' });
    expect(app.template.Parameters?.Tracing)
      .to.include({ Default: 'Active' })
      .and.to.have.deep.property('AllowedValues', ['Active', 'PassThrough']);
    expect(globals.Layers).to.deep.equal(app.layers.map((layer) => ({ Ref: layer.logicalId })));
    const variables = (globals.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables.NODE_OPTIONS).to.equal('--enable-source-maps');
    expect(variables.POWERTOOLS_SERVICE_NAME).to.be.a('string').and.not.be.empty;
    // Only what every function shares: the chat's own variables are each function's (environment.test.ts).
    expect(
      Object.keys(variables).filter((name) => !/^(NODE_OPTIONS|POWERTOOLS_[A-Z_]+)$/.test(name)),
      'Globals variables',
    ).to.deep.equal([]);
    for (const fn of app.functions) {
      for (const key of ['Runtime', 'Architectures', 'Tracing', 'Layers']) {
        expect(fn.properties, `${fn.logicalId} overrides Globals.${key}`).not.to.have.property(key);
      }
    }
  });

  it('groups and labels every parameter for the CloudFormation console', () => {
    const iface = (app.template.Metadata?.['AWS::CloudFormation::Interface'] ?? {}) as {
      ParameterGroups?: Array<{ Label: { default: string }; Parameters: string[] }>;
      ParameterLabels?: Record<string, { default: string }>;
    };
    const parameters = Object.keys(app.template.Parameters ?? {}).sort();
    const grouped = (iface.ParameterGroups ?? []).flatMap((group) => group.Parameters).sort();
    expect(grouped).to.deep.equal(parameters);
    expect(Object.keys(iface.ParameterLabels ?? {}).sort()).to.deep.equal(parameters);
    for (const [name, parameter] of Object.entries(app.template.Parameters ?? {})) {
      expect(parameter.Description, `${name} Description`).to.be.a('string').and.not.be.empty;
    }
  });

  it('asks a guided deploy only what a person can answer: at most 12 parameters, the internals constants in Mappings.Tuning', () => {
    const parameters = Object.keys(app.template.Parameters ?? {});
    expect(parameters.length, parameters.join(', ')).to.be.at.most(12);
    const tuning = app.template.Mappings?.Tuning ?? {};
    expect(Object.keys(tuning).sort()).to.deep.equal(['Limits', 'Rooms', 'Stage']);
    // Every internal reaches its function through Fn::FindInMap, never as a literal copy.
    const literal = app.functions.flatMap((fn) =>
      Object.entries((fn.properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {})
        .filter(([, value]) => typeof value === 'string' || typeof value === 'number')
        .map(([name]) => `${fn.logicalId} ${name}`),
    );
    expect(literal, 'function variables given as literals').to.deep.equal([]);
  });

  it("stays under 1,000 lines, so that a reader takes it in at once (as the tutorial's chat-app.yaml)", () => {
    const lines = readFileSync(TEMPLATE_PATH, 'utf8').split('\n').length - 1;
    expect(lines, 'template.yaml lines').to.be.below(1000);
  });

  it('sends a fan-out shard to the dead-letter queue after at least 5 receives, as Lambda advises for an SQS event source', () => {
    const queues = Object.entries(app.template.Resources).filter(([, r]) => r.Type === 'AWS::SQS::Queue');
    const redriven = queues.filter(([, queue]) => queue.Properties?.RedrivePolicy !== undefined);
    expect(redriven.map(([id]) => id)).to.deep.equal(['FanoutQueue']);
    for (const [id, queue] of redriven) {
      expect((queue.Properties?.RedrivePolicy as { maxReceiveCount?: number }).maxReceiveCount, id).to.be.at.least(5);
    }
  });
});
