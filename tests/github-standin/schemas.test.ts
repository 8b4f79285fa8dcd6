/**
 * The stand-in's check against GitHub's published description: OpenAPI 3.0 `nullable` turned into JSON Schema,
 * requests and responses accepted or refused as the description says, and a response that does not match
 * answered as a stand-in bug (500), so the stand-in cannot drift from GitHub.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Standin, startStandin } from './index.mjs';
import { loadSchemas, OPERATIONS, toJsonSchema, WEBHOOKS } from './schemas.mjs';

describe('toJsonSchema', () => {
  it('turns nullable into a null type, and into anyOf where the node has no type', () => {
    const refs: string[] = [];
    const out = toJsonSchema(
      {
        type: 'object',
        description: 'dropped',
        properties: {
          description: { type: 'string', nullable: true, example: 'x' },
          conclusion: { type: 'string', enum: ['success'], nullable: true },
          app: { nullable: true, allOf: [{ $ref: '#/components/schemas/integration' }] },
          id: { type: 'integer', format: 'int64' },
        },
      },
      (name) => refs.push(name),
    );
    expect(out).toEqual({
      type: 'object',
      properties: {
        description: { type: ['string', 'null'] },
        conclusion: { type: ['string', 'null'], enum: ['success', null] },
        app: { anyOf: [{ allOf: [{ $ref: '#/definitions/integration' }] }, { type: 'null' }] },
        id: { type: 'integer' },
      },
    });
    expect(refs).toEqual(['integration']);
  });
});

describe('loadSchemas', () => {
  const schemas = loadSchemas();

  it('has a validator for every operation served and every webhook sent', () => {
    expect(Object.keys(schemas.manifest.operations).sort()).toEqual(Object.keys(OPERATIONS).sort());
    expect(Object.keys(schemas.manifest.webhookValidators).sort()).toEqual(Object.keys(WEBHOOKS).sort());
    expect(loadSchemas()).toBe(schemas);
  });

  it("accepts a response in GitHub's shape and refuses one that is not", () => {
    const permission = { permission: 'none', role_name: '', user: null };
    expect(schemas.checkResponse('repos/get-collaborator-permission-level', 200, permission).ok).toBe(true);
    const wrong = schemas.checkResponse('repos/get-collaborator-permission-level', 200, {
      permission: 'none',
    });
    expect(wrong).toEqual({
      ok: false,
      errors: expect.stringContaining("must have required property 'role_name'"),
    });
    // A success status the description does not list is wrong too; an error status falls back to basic-error.
    expect(schemas.checkResponse('repos/get', 204, undefined).ok).toBe(false);
    expect(schemas.checkResponse('repos/get', 401, { message: 'Bad credentials', status: '401' }).ok).toBe(
      true,
    );
    expect(schemas.checkResponse('repos/get', 401, { message: 401 }).ok).toBe(false);
  });

  it('checks request bodies and coerces query strings into the declared types', () => {
    const completedWithout = schemas.checkRequest('checks/update', {
      query: {},
      body: { status: 'completed' },
    });
    expect(completedWithout.ok).toBe(false);
    expect(schemas.checkRequest('checks/update', { query: {}, body: { conclusion: 'success' } }).ok).toBe(
      true,
    );
    expect(schemas.checkRequest('git/update-ref', { query: {}, body: { force: true } }).ok).toBe(false);
    const query: Record<string, unknown> = { per_page: '5', status: 'queued' };
    expect(schemas.checkRequest('checks/list-for-ref', { query, body: {} }).ok).toBe(true);
    expect(query.per_page).toBe(5);
    expect(
      schemas.checkRequest('checks/list-for-ref', { query: { status: 'done' }, body: {} }).errors,
    ).toMatch(/query\/status must be equal to one of the allowed values/);
  });

  it('checks webhook payloads against @octokit/openapi-webhooks', () => {
    expect(schemas.checkWebhook('push', { ref: 'refs/heads/pu' }).errors).toMatch(
      /required property 'before'/,
    );
  });
});

describe('a response that does not match the description', () => {
  let gh: Standin | undefined;
  afterEach(async () => {
    await gh?.close().catch(() => {});
  });

  it('is answered 500 with the reason, recorded as a stand-in bug, and makes close() throw', async () => {
    gh = await startStandin();
    const dev = gh.createUser({ login: 'dev' });
    const repo = await gh.createRepository({ owner: dev, name: 'project', private: false });
    // Break the state the way a stand-in bug would: GitHub's description says a description is a string or null.
    (repo as { description: unknown }).description = 42;
    const response = await fetch(`${gh.apiUrl}/repos/dev/project`);
    expect(response.status).toBe(500);
    const body = (await response.json()) as { message: string };
    expect(body.message).toMatch(
      /^stand-in bug: the 200 answer to repos\/get does not match GitHub's description: /,
    );
    expect(body.message).toContain('response/description must be string,null');
    expect(gh.bugs).toHaveLength(1);
    await expect(gh.close()).rejects.toThrow(/the GitHub stand-in has bugs/);
    gh = undefined;
  });
});
