import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestApp, type Tenant, type TestApp } from '../helpers/test-app';

let t: TestApp;
let a: Tenant;
beforeAll(async () => {
  t = await startTestApp({ GRAPHQL_MAX_DEPTH: '6', GRAPHQL_MAX_ALIASES: '5', GRAPHQL_MAX_COST: '2000', REQUEST_BODY_MAX_BYTES: '4096' });
  a = await t.tenant('o-limits');
});
afterAll(() => t.close());

describe('GraphQL abuse limits', () => {
  it('refuses a query nested deeper than the limit before running it', async () => {
    const r = await t.gql(a.token, '{ devices { edges { node { product { model { measurePoints { type { item { item { dataType } } } } } } } } } }');
    expect(errorCode(r)).toBe('QUERY_TOO_COMPLEX');
    expect(r.errors![0]!.message).toMatch(/depth exceeds 6/);
  });

  it('refuses too many aliases', async () => {
    const r = await t.gql(a.token, `{ ${Array.from({ length: 6 }, (_, i) => `a${i}: me { organisation { id } }`).join(' ')} }`);
    expect(errorCode(r)).toBe('QUERY_TOO_COMPLEX');
  });

  it('refuses a query whose estimated cost is too high', async () => {
    const r = await t.gql(a.token, '{ devices(first: 200) { edges { node { assetId name product { productKey name } model { identifier name } } } } }');
    expect(errorCode(r)).toBe('QUERY_TOO_COMPLEX');
    expect(r.errors![0]!.message).toMatch(/cost exceeds/);
  });

  it('refuses a fragment cycle without hanging', async () => {
    const r = await t.gql(a.token, 'query { me { ...A } } fragment A on Me { ...B } fragment B on Me { ...A }');
    expect(errorCode(r)).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('refuses a request body over the size limit with 413', async () => {
    const res = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${a.token}` }, body: JSON.stringify({ query: `{ me { organisation { id } } } # ${'x'.repeat(5000)}` }) });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers malformed JSON with 400, not a crash', async () => {
    const res = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${a.token}` }, body: '{"query": ' });
    expect(res.status).toBe(400);
    const ok = await t.gql(a.token, '{ me { organisation { id } } }');
    expect(ok.status).toBe(200);
  });
});
