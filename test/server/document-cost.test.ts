import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';

// The default limits: what an instance does out of the box with a costly document.
let t: TestApp;
let tenant: Tenant;
beforeAll(async () => {
  t = await startTestApp();
  tenant = await t.tenant('o-doc-cost');
});
afterAll(() => t.close());

const post = (query: string) =>
  fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.token}` }, body: JSON.stringify({ query }) });

describe('the cost of parsing and validating one document is bounded', () => {
  it('refuses an 11 MB document of a million __typename selections with 413 before parsing it', async () => {
    // Ends in a syntax error: a parsed document would fail with GRAPHQL_PARSE_FAILED instead.
    const query = `{ ${'__typename '.repeat(1_000_000)} } }`;
    expect(query.length).toBeGreaterThan(11_000_000);
    const res = await post(query);
    expect(res.status).toBe(413);
    const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('PAYLOAD_TOO_LARGE');
    expect(body.errors[0]!.message).toContain('at most 65536 are allowed');
  });

  it('stops parsing a document under the size cap at GRAPHQL_MAX_TOKENS, before validation', async () => {
    // 12,000 selections of an unknown field in under 64 KiB: validation would report each of them.
    const query = `{${' a'.repeat(12_000)} }`;
    expect(Buffer.byteLength(query)).toBeLessThan(65_536);
    const r = await t.gql(tenant.token, query);
    expect(r.status).toBe(200);
    expect(r.errors).toHaveLength(1);
    expect(r.errors![0]!.extensions!.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(r.errors![0]!.message).toMatch(/10000 tokens/);
  });

  it('ends the validation of the largest __typename document the size cap lets through, and keeps serving', async () => {
    // Comparing every pair of 5,900 identical selections is quadratic: graphql-js stops at its complexity budget.
    const query = `{${' __typename'.repeat(5_900)} }`;
    expect(Buffer.byteLength(query)).toBeLessThan(65_536);
    const r = await t.gql(tenant.token, query);
    expect(r.status).toBe(200);
    expect(r.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([['GRAPHQL_VALIDATION_FAILED', 'Validation aborted.']]);
    const small = await t.gql(tenant.token, `{${' __typename'.repeat(100)} }`);
    expect(small.errors).toBeUndefined();
    expect(small.data!['__typename']).toBe('Query');
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });
});
