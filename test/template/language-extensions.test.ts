/**
 * template.yaml's Fn::ForEach loops (AWS::LanguageExtensions) give the same resources wherever
 * they are expanded: by SAM CLI (its own expand_language_extensions, as `sam build` and
 * `sam local invoke` run it with samconfig.toml's language_extensions = true), by the local
 * runtime's template reader (and these tests' loadTemplate, which uses it), and by
 * scripts/generate-template.py. SAM CLI resolves more than the loops (mappings, plain Subs), so
 * the comparison is of what those resolve to.
 */
import { expect } from 'chai';
import { parse as parseToml } from 'smol-toml';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { resolveValue } from '../../local/src/template/intrinsics';
import {
  ROOT,
  TEMPLATE_PATH,
  fromMappings,
  loadTemplate,
  loadWrittenTemplate,
  output,
  resourcesOfType,
  run,
  type Template,
} from './helpers';

describe('template.yaml: Fn::ForEach expanded as SAM CLI and CloudFormation expand it', function () {
  let sam: Template;
  let generator: Template;
  let ours: Template;

  before(async () => {
    const result = await run('python3', [path.join('test', 'template', 'sam_expand.py'), TEMPLATE_PATH]);
    expect(result.code, output(result)).to.equal(0);
    ({ sam, generator } = JSON.parse(result.stdout) as { sam: Template; generator: Template });
    ours = loadTemplate();
  });

  it('declares its route and function resources in loops (the test below is about something)', () => {
    const loops = Object.keys(loadWrittenTemplate().Resources).filter((key) => key.startsWith('Fn::ForEach::'));
    expect(loops.length, 'loops in Resources').to.be.at.least(2);
    expect(resourcesOfType(ours, 'AWS::ApiGatewayV2::Route').length).to.be.at.least(6);
  });

  it('gives the same logical ids, types and conditions as SAM CLI', () => {
    const shape = (template: Template): Record<string, string> =>
      Object.fromEntries(Object.entries(template.Resources).map(([id, r]) => [id, `${r.Type} ${r.Condition ?? ''}`]));
    expect(shape(ours)).to.deep.equal(shape(sam));
    expect(Object.keys(ours.Conditions ?? {})).to.deep.equal(Object.keys(sam.Conditions ?? {}));
    expect(Object.keys(ours.Outputs ?? {})).to.deep.equal(Object.keys(sam.Outputs ?? {}));
  });

  it("routes each key to the same integration, invokes the same function and alarms in the same words as SAM CLI's expansion", () => {
    const resolveText = (value: unknown): unknown =>
      resolveValue(value, {
        pseudo: { region: 'us-east-1', accountId: '123456789012', partition: 'aws', urlSuffix: 'amazonaws.com', stackName: 'chat' },
        parameters: {},
        mappings: ours.Mappings ?? {},
        conditions: {},
        refResource: (id) => id,
        getAtt: (id, attribute) => `${id}.${attribute}`,
      });
    for (const [id, route] of resourcesOfType(ours, 'AWS::ApiGatewayV2::Route')) {
      const theirs = sam.Resources[id]?.Properties ?? {};
      expect(fromMappings(ours, route.Properties?.RouteKey), `${id} RouteKey`).to.equal(theirs.RouteKey);
      const target = (route.Properties?.Target as { 'Fn::Sub': string })['Fn::Sub'];
      expect(target, `${id} Target`).to.equal(theirs.Target);
    }
    for (const [id, permission] of resourcesOfType(ours, 'AWS::Lambda::Permission')) {
      if (permission.Condition !== undefined) continue; // SAM CLI empties what a false condition leaves out
      expect(permission.Properties?.FunctionName, `${id} FunctionName`).to.deep.equal(sam.Resources[id]?.Properties?.FunctionName);
    }
    for (const [id, alarm] of resourcesOfType(ours, 'AWS::CloudWatch::Alarm')) {
      const theirs = sam.Resources[id]?.Properties?.AlarmDescription;
      if (typeof theirs !== 'string' || theirs.includes('${')) continue; // one SAM could not resolve either
      expect(resolveText(alarm.Properties?.AlarmDescription), `${id} AlarmDescription`).to.equal(theirs);
    }
  });

  it('is expanded the same by scripts/generate-template.py (the generated template) as by the local runtime', () => {
    expect(JSON.parse(JSON.stringify(ours))).to.deep.equal(JSON.parse(JSON.stringify(generator)));
  });

  it('has every SAM CLI command of samconfig.toml expand the loops (language_extensions), in every environment', () => {
    const config = parseToml(readFileSync(path.join(ROOT, 'samconfig.toml'), 'utf8')) as Record<string, Record<string, unknown>>;
    const environments = Object.keys(config).filter((key) => key !== 'version');
    expect(environments).to.include('default');
    for (const env of environments) {
      const global = (config[env]?.global as { parameters?: Record<string, unknown> } | undefined)?.parameters;
      expect(global?.language_extensions, `${env}.global.parameters.language_extensions`).to.equal(true);
    }
  });
});
