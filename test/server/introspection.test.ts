import { buildClientSchema, getIntrospectionQuery, printSchema, type IntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestApp, type Tenant, type TestApp } from '../helpers/test-app';

// Default limits (GRAPHQL_MAX_DEPTH 12, aliases 50, cost 100000): what a new operator runs.
let t: TestApp;
let a: Tenant;
beforeAll(async () => {
  t = await startTestApp();
  a = await t.tenant('o-introspect');
});
afterAll(() => t.close());

/** Loads the schema from the URL the way a schema loader (graphql-codegen, GraphiQL) does. */
async function loadSchemaFromUrl(url: string, token: string, query: string): Promise<string> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query }) });
  const body = (await res.json()) as { data?: IntrospectionQuery; errors?: unknown[] };
  if (!body.data || body.errors) throw new Error(`introspection refused: ${JSON.stringify(body.errors)}`);
  return printSchema(buildClientSchema(body.data));
}

describe('schema introspection', () => {
  it("answers graphql-js's standard getIntrospectionQuery() at the default limits", async () => {
    const r = await t.gql<IntrospectionQuery>(a.token, getIntrospectionQuery());
    expect(r.errors).toBeUndefined();
    expect(r.data!.__schema.queryType!.name).toBe('Query');
  });

  it('lets a schema loader build the client schema from the URL, with every option a loader may turn on', async () => {
    const sdl = await loadSchemaFromUrl(`${t.url}/graphql`, a.token, getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true, oneOf: true }));
    expect(sdl).toMatch(/^type Query \{/m);
    expect(sdl).toMatch(/^type PointValue \{/m);
  });

  it('still requires a token', async () => {
    const r = await t.gql(undefined, getIntrospectionQuery());
    expect(r.status).toBe(401);
    expect(errorCode(r)).toBe('UNAUTHENTICATED');
  });

  it('refuses an endless ofType chain', async () => {
    const chain = `${'ofType { '.repeat(200)}name${' }'.repeat(200)}`;
    const r = await t.gql(a.token, `{ __type(name: "Query") { ${chain} } }`);
    expect(errorCode(r)).toBe('QUERY_TOO_COMPLEX');
    expect(r.errors![0]!.message).toMatch(/introspection depth exceeds 32/);
  });

  it('refuses nested type lists that multiply the work', async () => {
    const r = await t.gql(a.token, '{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }');
    expect(r.errors?.[0]?.message).toMatch(/introspection depth/i);
  });

  it('counts aliases inside introspection', async () => {
    const r = await t.gql(a.token, `{ __schema { ${Array.from({ length: 51 }, (_, i) => `t${i}: types { name }`).join(' ')} } }`);
    expect(errorCode(r)).toBe('QUERY_TOO_COMPLEX');
    expect(r.errors![0]!.message).toMatch(/aliases/);
  });

  it('keeps the data limits for data fields next to introspection', async () => {
    const r = await t.gql(a.token, '{ __typename __schema { queryType { name } } devices { edges { node { product { model { measurePoints { type { item { item { item { item { item { item { dataType } } } } } } } } } } } } } }');
    expect(errorCode(r)).toBe('QUERY_TOO_COMPLEX');
    expect(r.errors![0]!.message).toMatch(/depth exceeds 12/);
  });
});
