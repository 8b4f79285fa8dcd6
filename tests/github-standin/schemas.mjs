/**
 * GitHub's published description, as the stand-in checks itself against it: the REST operations it serves
 * (from `@octokit/openapi`'s `api.github.com.json`) and the webhook payloads it sends (from
 * `@octokit/openapi-webhooks`), turned into JSON Schema and compiled with ajv.
 *
 * The full descriptions are 13 MB and 5 MB of JSON; the stand-in needs a few dozen of their schemas. So the first
 * process that needs them extracts just those (following `$ref`s), converts OpenAPI 3.0's `nullable` into JSON
 * Schema, and writes the result (about 200 kB) to `node_modules/.cache/github-standin/`, keyed by both packages'
 * versions and this file's own text; every later process (each vitest worker, each CLI start) reads that instead.
 * Compiling happens once per process, on first use ({@link loadSchemas} is memoized).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { _, Ajv } from 'ajv';
import standaloneModule from 'ajv/dist/standalone/index.js';
import addFormatsModule from 'ajv-formats';
import formatsModule from 'ajv-formats/dist/formats.js';

/** @typedef {import('ajv').ValidateFunction} ValidateFunction */
/** @typedef {import('ajv').ErrorObject} ErrorObject */
/** @typedef {Record<string, unknown>} JsonObject */

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module object.
const addFormats = /** @type {typeof addFormatsModule.default} */ (
  /** @type {unknown} */ ('default' in addFormatsModule ? addFormatsModule.default : addFormatsModule)
);
const { fullFormats } = /** @type {typeof import('ajv-formats/dist/formats.js')} */ (
  /** @type {unknown} */ ('default' in formatsModule ? formatsModule.default : formatsModule)
);
const standaloneCode = /** @type {typeof standaloneModule.default} */ (
  /** @type {unknown} */ ('default' in standaloneModule ? standaloneModule.default : standaloneModule)
);

const require = createRequire(import.meta.url);
const SELF = fileURLToPath(import.meta.url);
const ROOT = join(dirname(SELF), '../..');

/**
 * The REST operations the stand-in serves (issue 9 section 2 lists them), by GitHub's operationId: method and
 * OpenAPI path template. Nothing else is served; anything else answers 404 as GitHub does for unknown routes.
 */
export const OPERATIONS = /** @type {const} */ ({
  'apps/get-authenticated': ['get', '/app'],
  'apps/create-installation-access-token': ['post', '/app/installations/{installation_id}/access_tokens'],
  'apps/list-installations': ['get', '/app/installations'],
  'apps/list-repos-accessible-to-installation': ['get', '/installation/repositories'],
  'repos/get': ['get', '/repos/{owner}/{repo}'],
  'repos/get-content': ['get', '/repos/{owner}/{repo}/contents/{path}'],
  'git/list-matching-refs': ['get', '/repos/{owner}/{repo}/git/matching-refs/{ref}'],
  'git/get-ref': ['get', '/repos/{owner}/{repo}/git/ref/{ref}'],
  'git/update-ref': ['patch', '/repos/{owner}/{repo}/git/refs/{ref}'],
  'checks/create': ['post', '/repos/{owner}/{repo}/check-runs'],
  'checks/update': ['patch', '/repos/{owner}/{repo}/check-runs/{check_run_id}'],
  'checks/list-for-ref': ['get', '/repos/{owner}/{repo}/commits/{ref}/check-runs'],
  'repos/get-collaborator-permission-level': [
    'get',
    '/repos/{owner}/{repo}/collaborators/{username}/permission',
  ],
  'repos/list-activities': ['get', '/repos/{owner}/{repo}/activity'],
});

/** @typedef {keyof typeof OPERATIONS} OperationId */

/**
 * The webhooks the stand-in sends, by the name `@octokit/openapi-webhooks` gives them (`event-action`); the
 * `X-GitHub-Event` header is the part before the first `-`... except for `installation_repositories`, hence the map.
 */
export const WEBHOOKS = /** @type {const} */ ({
  push: 'push',
  'installation-created': 'installation',
  'installation-deleted': 'installation',
  'installation-repositories-added': 'installation_repositories',
  'installation-repositories-removed': 'installation_repositories',
  'check-run-rerequested': 'check_run',
  'check-suite-rerequested': 'check_suite',
});

/** @typedef {keyof typeof WEBHOOKS} WebhookName */

/**
 * Places where GitHub's description says something no real answer can satisfy, each fixed here the narrowest way
 * (and listed in README.md). Every other schema is used exactly as published.
 * @type {{ operation: string, status: string, path: string[], fix: (schema: any) => any, why: string }[]}
 */
const ERRATA = [
  {
    operation: 'apps/list-installations',
    status: '200',
    path: ['items', 'properties', 'account'],
    fix: ({ allOf, ...rest }) => ({ ...rest, anyOf: allOf }),
    why:
      'the inlined installation says the account is a user AND an enterprise (allOf); the `installation` ' +
      'component, and GitHub, say one OR the other (anyOf)',
  },
];

/** Used when an error status has no schema of its own in the description (401 is listed almost nowhere). */
const ERROR_SCHEMA = 'basic-error';

/** Keywords that only document; dropping them keeps the cache small and ajv's strict mode quiet. */
const DOC_KEYWORDS = new Set([
  'description',
  'title',
  'example',
  'examples',
  'externalDocs',
  'deprecated',
  'readOnly',
  'writeOnly',
  'discriminator',
  'xml',
  'default',
  '$comment',
  'contentMediaType',
  'contentEncoding',
]);

/** Keywords whose value is a map from names to schemas. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'definitions', '$defs']);
/** Keywords whose value is a schema or an array of schemas. */
const SUBSCHEMAS = new Set([
  'items',
  'additionalProperties',
  'not',
  'allOf',
  'anyOf',
  'oneOf',
  'if',
  'then',
  'else',
]);

/**
 * One OpenAPI schema node as JSON Schema for ajv: documentation dropped, `nullable: true` turned into a `null`
 * type (or `anyOf [..., null]` where the node has no `type` of its own, e.g. beside `allOf`), and every
 * `#/components/schemas/NAME` reference rewritten to `#/definitions/NAME` and reported to `onRef`.
 * @param {unknown} node
 * @param {(name: string) => void} onRef
 * @returns {unknown}
 */
export function toJsonSchema(node, onRef) {
  if (Array.isArray(node)) return node.map((item) => toJsonSchema(item, onRef));
  if (node === null || typeof node !== 'object') return node;
  const source = /** @type {JsonObject} */ (node);
  /** @type {JsonObject} */
  const out = {};
  for (const [key, value] of Object.entries(source)) {
    if (DOC_KEYWORDS.has(key) || key.startsWith('x-') || key === 'nullable') continue;
    // GitHub's `int64` is no JSON Schema format; `type: integer` beside it already says what can be checked.
    if (key === 'format' && value === 'int64') continue;
    if (key === '$ref' && typeof value === 'string') {
      const name = value.replace(/^#\/components\/schemas\//, '');
      if (name === value) throw new Error(`unexpected reference ${value}`);
      onRef(name);
      out.$ref = `#/definitions/${name}`;
    } else if (SCHEMA_MAPS.has(key) && value && typeof value === 'object') {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonSchema(v, onRef)]));
    } else if (SUBSCHEMAS.has(key)) {
      out[key] = toJsonSchema(value, onRef);
    } else {
      out[key] = value;
    }
  }
  if (source.nullable !== true) return out;
  if (typeof out.type === 'string') {
    out.type = [out.type, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    return out;
  }
  if (Array.isArray(out.type)) {
    if (!out.type.includes('null')) out.type = [...out.type, 'null'];
    return out;
  }
  return { anyOf: [out, { type: 'null' }] };
}

/**
 * @typedef {object} ParameterSpec
 * @property {string} name
 * @property {'path' | 'query' | 'header'} in
 * @property {boolean} required
 * @property {unknown} schema
 *
 * @typedef {object} OperationSpec
 * @property {string} method
 * @property {string} path
 * @property {ParameterSpec[]} parameters
 * @property {unknown} requestBody   the JSON body's schema, or null when the operation takes none
 * @property {Record<string, unknown>} responses  by status: the JSON body's schema, or null for no body
 *
 * @typedef {object} Extract
 * @property {string} key
 * @property {Record<string, OperationSpec>} operations
 * @property {Record<string, unknown>} restDefinitions
 * @property {Record<string, unknown>} webhooks  by webhook name: the payload's schema
 * @property {Record<string, unknown>} webhookDefinitions
 */

/**
 * Follows `$ref`s from the given roots and converts each schema reached, once.
 * @param {Record<string, unknown>} components `components.schemas` of a description
 * @param {(onRef: (name: string) => void) => void} roots converts the roots, reporting their references
 */
function closure(components, roots) {
  /** @type {Record<string, unknown>} */
  const definitions = {};
  /** @type {string[]} */
  const pending = [];
  /** @param {string} name */
  const onRef = (name) => {
    if (name in definitions || pending.includes(name)) return;
    if (!(name in components)) throw new Error(`the description has no schema ${name}`);
    pending.push(name);
  };
  roots(onRef);
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    definitions[name] = toJsonSchema(components[name], onRef);
  }
  return definitions;
}

/**
 * @param {JsonObject} spec
 * @param {unknown} node
 * @returns {JsonObject}
 */
function deref(spec, node) {
  let current = /** @type {JsonObject} */ (node);
  while (typeof current.$ref === 'string') {
    /** @type {any} */
    let target = spec;
    for (const part of current.$ref.slice(2).split('/')) target = target[part];
    current = target;
  }
  return current;
}

/**
 * Reads both descriptions and extracts what {@link OPERATIONS} and {@link WEBHOOKS} need.
 * @param {string} key
 * @returns {Extract}
 */
function extract(key) {
  const rest = /** @type {any} */ (
    JSON.parse(readFileSync(require.resolve('@octokit/openapi/generated/api.github.com.json'), 'utf8'))
  );
  /** @type {Record<string, OperationSpec>} */
  const operations = {};
  const restDefinitions = closure(rest.components.schemas, (onRef) => {
    onRef(ERROR_SCHEMA);
    for (const [operationId, [method, path]] of Object.entries(OPERATIONS)) {
      const op = rest.paths[path]?.[method];
      if (!op || op.operationId !== operationId) throw new Error(`the description has no ${operationId}`);
      const json = (/** @type {any} */ content) => content?.['application/json']?.schema;
      /** @type {Record<string, unknown>} */
      const responses = {};
      for (const [status, response] of Object.entries(op.responses)) {
        let schema = json(deref(rest, response).content);
        for (const erratum of ERRATA) {
          if (erratum.operation !== operationId || erratum.status !== status) continue;
          schema = structuredClone(schema);
          const parent = erratum.path.slice(0, -1).reduce((node, key) => node[key], schema);
          const last = /** @type {string} */ (erratum.path.at(-1));
          if (!parent?.[last])
            throw new Error(`erratum for ${operationId} no longer applies: ${erratum.path.join('/')}`);
          parent[last] = erratum.fix(parent[last]);
        }
        responses[status] = schema === undefined ? null : toJsonSchema(schema, onRef);
      }
      const body = op.requestBody ? json(deref(rest, op.requestBody).content) : undefined;
      operations[operationId] = {
        method,
        path,
        parameters: (op.parameters ?? []).map((/** @type {unknown} */ p) => {
          const param = /** @type {any} */ (deref(rest, p));
          return {
            name: param.name,
            in: param.in,
            required: !!param.required,
            schema: toJsonSchema(param.schema, onRef),
          };
        }),
        requestBody: body === undefined ? null : toJsonSchema(body, onRef),
        responses,
      };
    }
  });
  const hooks = /** @type {any} */ (
    JSON.parse(
      readFileSync(require.resolve('@octokit/openapi-webhooks/generated/api.github.com.json'), 'utf8'),
    )
  );
  /** @type {Record<string, unknown>} */
  const webhooks = {};
  const webhookDefinitions = closure(hooks.components.schemas, (onRef) => {
    for (const name of Object.keys(WEBHOOKS)) {
      const schema = hooks.webhooks[name]?.post?.requestBody?.content?.['application/json']?.schema;
      if (!schema) throw new Error(`the webhooks description has no ${name}`);
      webhooks[name] = toJsonSchema(schema, onRef);
    }
  });
  return { key, operations, restDefinitions, webhooks, webhookDefinitions };
}

/** The cache key: both descriptions' versions and this file's text (a change to the extraction invalidates it). */
function cacheKey() {
  const version = (/** @type {string} */ name) =>
    /** @type {{ version: string }} */ (
      JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8'))
    ).version;
  return createHash('sha256')
    .update(`${version('@octokit/openapi')}\0${version('@octokit/openapi-webhooks')}\0${version('ajv')}\0`)
    .update(readFileSync(SELF))
    .digest('hex')
    .slice(0, 16);
}

/**
 * What the generated validator module exports, and how to use it: the name of each validator.
 * @typedef {object} QueryParameter
 * @property {string} name
 * @property {string} type   the declared JSON type the text is coerced into before checking
 *
 * @typedef {object} CompiledOperation
 * @property {string} method
 * @property {string} path
 * @property {QueryParameter[]} query
 * @property {string} queryValidator
 * @property {string | null} bodyValidator
 * @property {Record<string, string | null>} responseValidators  by status; null for "no body"
 *
 * @typedef {object} Manifest
 * @property {string} key
 * @property {Record<string, CompiledOperation>} operations
 * @property {Record<string, string>} webhookValidators  by webhook name
 * @property {string} errorValidator
 */

/**
 * Extracts the schemas, compiles them with ajv and returns ajv's standalone code for all validators (a CommonJS
 * module) with the manifest that names them.
 * @param {string} key
 * @returns {{ manifest: Manifest, code: string }}
 */
function build(key) {
  const data = extract(key);
  const ajv = new Ajv({
    allErrors: true,
    strict: false,
    allowUnionTypes: true,
    // The generated module finds ajv-formats from node_modules, as any module there would. One erratum lives
    // here: GitHub's bots have addresses like `2001+premerge-bot[bot]@users.noreply.github.com`, which GitHub
    // sends as an `email` and the strict `email` format refuses for its brackets.
    code: {
      source: true,
      formats: _`((f) => Object.assign({}, f, { email: (s) => f.email.test(s.replace("[bot]@", "-bot@")) }))(require("ajv-formats/dist/formats").fullFormats)`,
    },
  });
  addFormats(ajv);
  ajv.addFormat('email', (s) => /** @type {RegExp} */ (fullFormats.email).test(s.replace('[bot]@', '-bot@')));
  ajv.addSchema({ $id: 'rest', definitions: data.restDefinitions });
  ajv.addSchema({ $id: 'webhooks', definitions: data.webhookDefinitions });
  /** @type {Record<string, string>} */
  const exported = {};
  /** @param {unknown} schema @param {string} base */
  const add = (schema, base) => {
    const name = `v${Object.keys(exported).length}`;
    ajv.addSchema({ $id: name, ...rebase(schema, base) });
    exported[name] = name;
    return name;
  };
  /** @type {Record<string, CompiledOperation>} */
  const operations = {};
  for (const [operationId, op] of Object.entries(data.operations)) {
    /** @type {Record<string, unknown>} */
    const properties = {};
    /** @type {string[]} */
    const required = [];
    /** @type {QueryParameter[]} */
    const query = [];
    for (const p of op.parameters) {
      if (p.in !== 'query') continue;
      properties[p.name] = p.schema;
      if (p.required) required.push(p.name);
      const type = /** @type {{ type?: string | string[] }} */ (p.schema).type;
      query.push({
        name: p.name,
        type: (Array.isArray(type) ? type.find((t) => t !== 'null') : type) ?? 'string',
      });
    }
    operations[operationId] = {
      method: op.method,
      path: op.path,
      query,
      queryValidator: add({ type: 'object', properties, required }, 'rest'),
      bodyValidator: op.requestBody === null ? null : add(op.requestBody, 'rest'),
      responseValidators: Object.fromEntries(
        Object.entries(op.responses).map(([status, schema]) => [
          status,
          schema === null ? null : add(schema, 'rest'),
        ]),
      ),
    };
  }
  const errorValidator = add({ $ref: `#/definitions/${ERROR_SCHEMA}` }, 'rest');
  const webhookValidators = Object.fromEntries(
    Object.entries(data.webhooks).map(([name, schema]) => [name, add(schema, 'webhooks')]),
  );
  const code = standaloneCode(ajv, exported);
  return { manifest: { key, operations, webhookValidators, errorValidator }, code };
}

/**
 * Writes `text` to `file` through a temporary name, so a concurrent reader sees the whole file or none.
 * @param {string} file
 * @param {string} text
 */
function writeAtomically(file, text) {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, file);
}

/**
 * The manifest and validators: from the cache when it holds this key, else built and cached.
 * @returns {{ manifest: Manifest, validators: Record<string, ValidateFunction>, cached: boolean }}
 */
function loadCompiled() {
  const key = cacheKey();
  const dir = join(ROOT, 'node_modules/.cache/github-standin');
  const manifestFile = join(dir, `schemas-${key}.json`);
  const codeFile = join(dir, `validators-${key}.cjs`);
  const load = () => /** @type {Record<string, ValidateFunction>} */ (createRequire(codeFile)(codeFile));
  try {
    const manifest = /** @type {Manifest} */ (JSON.parse(readFileSync(manifestFile, 'utf8')));
    if (manifest.key === key) return { manifest, validators: load(), cached: true };
  } catch {
    // Not built yet on this checkout (or half-removed): build it.
  }
  const { manifest, code } = build(key);
  mkdirSync(dir, { recursive: true });
  // The code first: a reader that finds the manifest then finds the code too.
  writeAtomically(codeFile, code);
  writeAtomically(manifestFile, JSON.stringify(manifest));
  // Builds for other keys (an older schemas.mjs or description) are never read again.
  for (const name of readdirSync(dir)) {
    if (/^(schemas|validators)-[0-9a-f]{16}\.(json|cjs)$/.test(name) && !name.includes(key))
      rmSync(join(dir, name), { force: true });
  }
  return { manifest, validators: load(), cached: false };
}

/**
 * @typedef {object} CheckResult
 * @property {boolean} ok
 * @property {string} errors  ajv's errors as one readable line ('' when ok)
 */

/** @type {CheckResult} */
const OK = { ok: true, errors: '' };

/**
 * The validators for the operations in {@link OPERATIONS} and the webhooks in {@link WEBHOOKS}.
 */
export class Schemas {
  /**
   * @param {Manifest} manifest
   * @param {Record<string, ValidateFunction>} validators
   * @param {{ ms: number, cached: boolean }} timing
   */
  constructor(manifest, validators, timing) {
    /** How long this process took to get the validators, and whether the on-disk cache had them. */
    this.timing = timing;
    this.manifest = manifest;
    this.validators = validators;
  }

  /**
   * Checks a request's query (coercing its text in place into the declared types first) and its JSON body.
   * @param {string} operationId
   * @param {{ query: Record<string, unknown>, body: unknown }} request
   * @returns {CheckResult}
   */
  checkRequest(operationId, request) {
    const op = this.#operation(operationId);
    for (const { name, type } of op.query) {
      const value = request.query[name];
      if (typeof value !== 'string') continue;
      if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(value))
        request.query[name] = Number(value);
      if (type === 'boolean' && (value === 'true' || value === 'false'))
        request.query[name] = value === 'true';
    }
    const query = this.#validator(op.queryValidator);
    if (!query(request.query)) return fail(query.errors, 'query');
    if (op.bodyValidator === null) return OK;
    const body = this.#validator(op.bodyValidator);
    return body(request.body) ? OK : fail(body.errors, 'body');
  }

  /**
   * Checks a response body against the schema the description gives for that status. An error status it does not
   * list is checked against `basic-error` (GitHub answers 401, 403 and 5xx on every endpoint, though few list
   * them); a success status it does not list is itself a failure.
   * @param {string} operationId
   * @param {number} status
   * @param {unknown} body   parsed JSON, or undefined for no body
   * @returns {CheckResult}
   */
  checkResponse(operationId, status, body) {
    const op = this.#operation(operationId);
    const key = String(status);
    if (!(key in op.responseValidators)) {
      if (status < 400)
        return { ok: false, errors: `${operationId} is not described as answering ${status}` };
      const error = this.#validator(this.manifest.errorValidator);
      return error(body) ? OK : fail(error.errors, 'response');
    }
    const name = op.responseValidators[key];
    if (name === null || name === undefined) {
      return body === undefined ? OK : { ok: false, errors: `${operationId} answers ${status} with no body` };
    }
    const validate = this.#validator(name);
    return validate(body) ? OK : fail(validate.errors, 'response');
  }

  /**
   * @param {WebhookName} name
   * @param {unknown} payload
   * @returns {CheckResult}
   */
  checkWebhook(name, payload) {
    const validate = this.#validator(this.manifest.webhookValidators[name] ?? '');
    return validate(payload) ? OK : fail(validate.errors, 'payload');
  }

  /** @param {string} operationId */
  #operation(operationId) {
    const op = this.manifest.operations[operationId];
    if (!op) throw new Error(`no schema for operation ${operationId}`);
    return op;
  }

  /** @param {string} name */
  #validator(name) {
    const validate = this.validators[name];
    if (!validate) throw new Error(`no validator ${name}`);
    return validate;
  }
}

/**
 * Points a converted root schema's local references at the shared document named `base`.
 * @param {unknown} schema
 * @param {string} base
 * @returns {JsonObject}
 */
function rebase(schema, base) {
  const text = JSON.stringify(schema).replaceAll('"#/definitions/', `"${base}#/definitions/`);
  return /** @type {JsonObject} */ (JSON.parse(text));
}

/**
 * @param {ErrorObject[] | null | undefined} errors
 * @param {string} what
 * @returns {CheckResult}
 */
function fail(errors, what) {
  const text = (errors ?? [])
    .slice(0, 10)
    .map((e) => {
      const allowed = /** @type {{ allowedValues?: unknown }} */ (e.params).allowedValues;
      return `${what}${e.instancePath} ${e.message ?? 'is invalid'}${allowed ? ` ${JSON.stringify(allowed)}` : ''}`;
    })
    .join('; ');
  return { ok: false, errors: text };
}

/** @type {Schemas | undefined} */
let loaded;

/**
 * The process's validators: built into `node_modules/.cache/github-standin/` by the first process that needs
 * them, then only loaded; the same object for every later call in this process.
 * @returns {Schemas}
 */
export function loadSchemas() {
  if (loaded) return loaded;
  const started = performance.now();
  const { manifest, validators, cached } = loadCompiled();
  loaded = new Schemas(manifest, validators, { ms: performance.now() - started, cached });
  return loaded;
}
