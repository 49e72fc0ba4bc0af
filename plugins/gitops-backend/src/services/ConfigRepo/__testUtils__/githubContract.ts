import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { githubSpec } from './githubSpec';

type Json = any;

/**
 * OpenAPI 3.0 to the JSON Schema ajv reads: `nullable: true` admits null (to the
 * type, to an enum, or around a composition without a type), and `oneOf` becomes
 * `anyOf`, since GitHub's alternatives overlap (a user matches `empty-object` too)
 * and which one matches is not what is checked.
 */
function toJsonSchema(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(toJsonSchema);
  if (schema === null || typeof schema !== 'object') return schema;
  const { nullable, oneOf, ...rest } = schema;
  const out: Json = {};
  for (const [k, v] of Object.entries(rest)) {
    // Property names are data, not schemas: map their values only.
    out[k] =
      k === 'properties' || k === 'patternProperties'
        ? Object.fromEntries(
            Object.entries(v as Json).map(([n, s]) => [n, toJsonSchema(s)]),
          )
        : toJsonSchema(v);
  }
  if (oneOf) out.anyOf = toJsonSchema(oneOf);
  // Closed: a field GitHub does not document fails as surely as a missing one.
  if (
    out.properties &&
    out.additionalProperties === undefined &&
    !out.allOf &&
    !out.anyOf
  ) {
    out.additionalProperties = false;
  }
  if (nullable !== true) return out;
  if (out.enum && !out.enum.includes(null)) out.enum = [...out.enum, null];
  if (typeof out.type === 'string') {
    out.type = [out.type, 'null'];
    return out;
  }
  return { anyOf: [{ type: 'null' }, out] };
}

const REF = '#/components/';

/** Validates answers against GitHub's OpenAPI description, operation by operation. */
export class GithubContract {
  private readonly ajv: Ajv;
  private readonly validators = new Map<string, ValidateFunction>();
  private static instance?: GithubContract;

  /** One per test file: the spec is large. */
  static load(): GithubContract {
    this.instance ??= new GithubContract();
    return this.instance;
  }

  private constructor() {
    this.ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(this.ajv);
    const spec = githubSpec();
    this.ajv.addSchema(
      { components: { schemas: toJsonSchema(spec.components.schemas) } },
      'github',
    );
  }

  /**
   * The schema GitHub documents for `method path` answering `status`: the JSON
   * content of that response (its `$ref` to components.responses followed). Throws
   * when the operation or status is not documented with a body, unless `fallback`
   * (a components.responses name) says which documented answer stands for it.
   */
  responseSchema(
    method: string,
    path: string,
    status: number,
    fallback?: string,
  ): Json {
    const spec = githubSpec();
    const operation = spec.paths[path]?.[method.toLowerCase()];
    if (!operation) throw new Error(`GitHub's spec has no ${method} ${path}`);
    let response = operation.responses[String(status)];
    if (response?.$ref) {
      response =
        spec.components.responses[
          response.$ref.replace(`${REF}responses/`, '')
        ];
    }
    let schema = response?.content?.['application/json']?.schema;
    if (!schema && fallback) {
      schema =
        spec.components.responses[fallback]?.content?.['application/json']
          ?.schema;
    }
    if (!schema) {
      throw new Error(
        `GitHub's spec documents no JSON answer ${status} for ${method} ${path}`,
      );
    }
    return schema;
  }

  /** Errors of `body` against the documented answer (see responseSchema). */
  responseErrors(
    method: string,
    path: string,
    status: number,
    body: Json,
    fallback?: string,
  ): string[] {
    const key = `${method} ${path} ${status} ${fallback ?? ''}`;
    let validate = this.validators.get(key);
    if (!validate) {
      const schema = JSON.parse(
        JSON.stringify(
          toJsonSchema(this.responseSchema(method, path, status, fallback)),
        ).replaceAll(`"$ref":"${REF}`, `"$ref":"github${REF}`),
      );
      validate = this.ajv.compile(schema);
      this.validators.set(key, validate);
    }
    if (validate(body)) return [];
    return (validate.errors ?? []).map(
      e =>
        `${e.instancePath || '/'} ${e.message}${
          e.keyword === 'additionalProperties'
            ? `: ${(e.params as Json).additionalProperty}`
            : ''
        }`,
    );
  }
}
