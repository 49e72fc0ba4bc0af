import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

type Json = any;

/**
 * The upstream contracts, read in place from `shared/contracts` beside the
 * repository (or `GITOPS_CONTRACTS_DIR`); never copied into the project.
 */
export const CONTRACTS_DIR = path.resolve(
  process.env.GITOPS_CONTRACTS_DIR ??
    // Run from source only (tests), so __dirname is the src folder.
    // eslint-disable-next-line no-restricted-syntax
    path.resolve(__dirname, '../../../../shared/contracts'),
);

/**
 * Every object schema that lists its properties is closed (no other properties), so
 * a misspelled or invented field fails as surely as a wrong type. Kubernetes schemas
 * that preserve unknown fields stay open.
 */
function closeObjects(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(closeObjects);
  if (schema === null || typeof schema !== 'object') return schema;
  const closed: Json = {};
  for (const [k, v] of Object.entries(schema)) {
    closed[k] =
      k === 'properties' ? mapValues(v as Json, closeObjects) : closeObjects(v);
  }
  if (
    schema.properties &&
    schema.additionalProperties === undefined &&
    !schema['x-kubernetes-preserve-unknown-fields']
  ) {
    closed.additionalProperties = false;
  }
  return closed;
}

/**
 * Folds `allOf: [{$ref}]` (swagger's embedding, as ResourceNode embeds ResourceRef)
 * into the definition's own properties, so closing it keeps the embedded ones.
 */
function inlineAllOf(definitions: Json): Json {
  return mapValues(definitions, definition => {
    if (!definition.allOf) return definition;
    const { allOf, ...rest } = definition;
    const embedded = allOf.map((part: Json) =>
      part.$ref ? definitions[part.$ref.replace('#/definitions/', '')] : part,
    );
    return {
      ...rest,
      properties: Object.assign(
        {},
        ...embedded.map((e: Json) => e.properties),
        rest.properties,
      ),
    };
  });
}

function mapValues(object: Json, f: (v: Json) => Json) {
  return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, f(v)]));
}

function crdSchema(file: string): Json {
  const crd = parse(fs.readFileSync(file, 'utf8'));
  const version =
    crd.spec.versions.find((v: Json) => v.storage) ?? crd.spec.versions[0];
  return closeObjects(version.schema.openAPIV3Schema);
}

/** Validates Argo CD API answers and Kubernetes objects against the upstream contracts. */
export class ArgoContracts {
  private readonly ajv: Ajv;
  private readonly swagger: Json;
  private readonly application: ValidateFunction;
  private readonly applicationSet: ValidateFunction;
  private readonly rollout: ValidateFunction;
  private readonly inlineSchemas = new Map<Json, ValidateFunction>();

  private constructor(dir: string) {
    this.ajv = new Ajv({
      strict: false,
      allErrors: true,
      validateFormats: true,
    });
    addFormats(this.ajv);
    this.swagger = JSON.parse(
      fs.readFileSync(path.join(dir, 'argocd/swagger.json'), 'utf8'),
    );
    this.ajv.addSchema(
      {
        definitions: {
          ...closeObjects(inlineAllOf(this.swagger.definitions)),
          // swagger.json shows apiextensions' JSON (a list generator's elements) as
          // its Go struct `{raw}`; on the wire it is the JSON value itself.
          v1JSON: {},
        },
      },
      'swagger',
    );
    this.application = this.ajv.compile(
      crdSchema(path.join(dir, 'argocd/application-crd.yaml')),
    );
    this.applicationSet = this.ajv.compile(
      crdSchema(path.join(dir, 'argocd/applicationset-crd.yaml')),
    );
    this.rollout = this.ajv.compile(
      crdSchema(path.join(dir, 'argo-rollouts/rollout-crd.yaml')),
    );
  }

  /**
   * The contracts, or undefined when they are missing outside CI (the caller skips
   * with a notice). Under CI=true a missing contract is an error.
   */
  static load(): ArgoContracts | undefined {
    if (!fs.existsSync(path.join(CONTRACTS_DIR, 'argocd/swagger.json'))) {
      if (process.env.CI === 'true') {
        throw new Error(
          `Contracts missing: ${CONTRACTS_DIR} (CI needs shared/ beside the clone)`,
        );
      }
      // eslint-disable-next-line no-console
      console.warn(`Contract tests skipped: no contracts at ${CONTRACTS_DIR}`);
      return undefined;
    }
    return new ArgoContracts(CONTRACTS_DIR);
  }

  /**
   * Errors of `body` against the schema swagger.json gives for that route's answer:
   * its 200 schema, or the error schema for any other status. A stream's 200 schema
   * is inline (`{result, error}`, one chunk), closed like the definitions.
   */
  responseErrors(
    route: string,
    method: string,
    status: number,
    body: Json,
  ): string[] {
    const operation = this.swagger.paths[route]?.[method.toLowerCase()];
    if (!operation) throw new Error(`swagger.json has no ${method} ${route}`);
    const response = operation.responses[status === 200 ? '200' : 'default'];
    const ref: string | undefined = response.schema.$ref;
    if (ref)
      return this.definitionErrors(ref.replace('#/definitions/', ''), body);
    let validate = this.inlineSchemas.get(response);
    if (!validate) {
      const schema = JSON.parse(
        JSON.stringify(response.schema).replaceAll(
          '"$ref":"#/definitions/',
          '"$ref":"swagger#/definitions/',
        ),
      );
      validate = this.ajv.compile(closeObjects(schema));
      this.inlineSchemas.set(response, validate);
    }
    return errorsOf(validate, body);
  }

  definitionErrors(definition: string, value: Json): string[] {
    const validate = this.ajv.getSchema(`swagger#/definitions/${definition}`);
    if (!validate)
      throw new Error(`swagger.json has no definition ${definition}`);
    return errorsOf(validate, value);
  }

  /** Errors of an Application against application-crd.yaml. */
  applicationErrors(application: Json): string[] {
    return errorsOf(this.application, application);
  }

  /** Errors of an ApplicationSet against applicationset-crd.yaml. */
  applicationSetErrors(applicationSet: Json): string[] {
    return errorsOf(this.applicationSet, applicationSet);
  }

  /** Errors of a Rollout against rollout-crd.yaml. */
  rolloutErrors(rollout: Json): string[] {
    return errorsOf(this.rollout, rollout);
  }
}

function errorsOf(validate: ValidateFunction, value: Json): string[] {
  if (validate(value)) return [];
  return (validate.errors ?? []).map(
    e =>
      `${e.instancePath || '/'} ${e.message}${
        e.keyword === 'additionalProperties'
          ? `: ${(e.params as Json).additionalProperty}`
          : ''
      }`,
  );
}
