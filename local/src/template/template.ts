/**
 * The local runtime's view of template.yaml: the WebSocket API (routes, selection expression,
 * stage), the HTTP APIs of the functions' HttpApi events, the functions that serve their routes,
 * their layers, and the DynamoDB tables.
 * Everything the runtime runs comes from here; there is no second list of routes.
 *
 * model.ts is the model; reader.ts resolves the template once; resources.ts reads each kind of
 * resource (http-apis.ts the HTTP APIs); roles.ts the functions' IAM roles.
 */
import { dirname, resolve } from 'node:path';
import type { FunctionModel, TableModel, TemplateModel, TemplateOptions } from './model.js';
import { TemplateReader, type Resource } from './reader.js';
import { readApi, readFunction, readLayers, readQueueMappings, readQueues, readTable, readUserPools, titleOf } from './resources.js';
import { readRoles } from './roles.js';
import { readHttpApis } from './http-apis.js';
import { readTemplateFile } from './template-yaml.js';

export type * from './model.js';

/** Reads and resolves a SAM template for the local runtime. */
export async function loadTemplate(path: string, options: TemplateOptions = {}): Promise<TemplateModel> {
  const absolute = resolve(path);
  const dir = dirname(absolute);
  const reader = new TemplateReader(absolute, await readTemplateFile(absolute), options);
  const api = readApi(reader);

  const functions = new Map<string, FunctionModel>();
  for (const route of api.routes.values()) {
    const resource = reader.resources[route.functionId] as Resource;
    if (!functions.has(route.functionId)) functions.set(route.functionId, readFunction(reader, dir, route.functionId, resource));
  }
  // A function that serves a route must run: its errors stop the start.
  const { httpApis, httpRoutes } = readHttpApis(reader);
  for (const { functionId } of httpRoutes) {
    if (!functions.has(functionId))
      functions.set(functionId, readFunction(reader, dir, functionId, reader.resources[functionId] as Resource));
  }
  for (const [id, resource] of reader.ofType('AWS::Serverless::Function')) {
    if (functions.has(id)) continue;
    try {
      functions.set(id, readFunction(reader, dir, id, resource));
    } catch (e: unknown) {
      reader.warnings.push(`function ${id} cannot run locally: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  const layers = readLayers(reader, dir);

  const tables = new Map<string, TableModel>();
  for (const [id, resource] of reader.ofType('AWS::DynamoDB::Table')) tables.set(id, readTable(reader, id, resource));

  const queues = readQueues(reader);
  const queueMappings = readQueueMappings(reader, queues);
  for (const mapping of queueMappings) {
    const resource = reader.resources[mapping.functionId] as Resource;
    if (!functions.has(mapping.functionId)) functions.set(mapping.functionId, readFunction(reader, dir, mapping.functionId, resource));
  }

  const model: Omit<TemplateModel, 'roles'> = {
    path: absolute,
    title: titleOf(reader, api.apiLogicalId, dir),
    dir,
    ...api,
    functions,
    layers,
    tables,
    queues,
    queueMappings,
    userPools: readUserPools(reader),
    httpApis,
    httpRoutes,
    pseudo: reader.ctx.pseudo,
    warnings: reader.warnings,
    resources: reader.resources,
    resolve: (value) => reader.resolve(value),
  };
  return { ...model, roles: readRoles(model) };
}
