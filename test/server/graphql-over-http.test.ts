import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';

let t: TestApp;
let tenant: Tenant;

beforeAll(async () => {
  t = await startTestApp();
  tenant = await t.tenant('o-http');
});
afterAll(() => t.close());

/** fetch with the tenant's bearer token on every request, as a client of the service sends it. */
const fetchWithToken = (input: string | URL | Request, init: RequestInit = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${tenant.token}`);
  return fetch(input, { ...init, headers });
};

describe('GraphQL over HTTP (graphql-http server audits, with a bearer token)', () => {
  it('passes every MUST and SHOULD audit', async () => {
    const failures: string[] = [];
    for (const audit of serverAudits({ url: () => `${t.url}/graphql`, fetchFn: fetchWithToken })) {
      if (!audit.name.startsWith('MUST') && !audit.name.startsWith('SHOULD')) continue;
      const r = await audit.fn();
      if (r.status !== 'ok') failures.push(`${audit.name}: ${r.reason}`);
    }
    expect(failures).toEqual([]);
  });

  it('answers a query sent with GET and a bearer token, with no preflight header', async () => {
    const r = await fetch(`${t.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, { headers: { authorization: `Bearer ${tenant.token}` } });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ data: { __typename: 'Query' } });
    const enos = await fetch(`${t.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, { headers: { 'apim-accesstoken': tenant.token } });
    expect(enos.status).toBe(200);
  });

  it('refuses GET without a token, and a mutation over GET with 405', async () => {
    const anonymous = await fetch(`${t.url}/graphql?query=${encodeURIComponent('{ __typename }')}`);
    expect(anonymous.status).toBe(400); // no header that a browser could not send cross-site: CSRF refusal
    const mutation = await fetch(`${t.url}/graphql?query=${encodeURIComponent('mutation { __typename }')}`, { headers: { authorization: `Bearer ${tenant.token}` } });
    expect(mutation.status).toBe(405);
  });

  it('answers a document that does not validate with 200 for application/json and 400 for application/graphql-response+json', async () => {
    const post = (accept: string) =>
      fetch(`${t.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${tenant.token}`, 'content-type': 'application/json', accept }, body: JSON.stringify({ query: '{ noSuchField }' }) });
    const json = await post('application/json');
    expect(json.status).toBe(200);
    expect(((await json.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const gql = await post('application/graphql-response+json');
    expect(gql.status).toBe(400);
    expect(gql.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
  });

  it('serves a page to a browser at GET /graphql whose every script and stylesheet is same-origin, under a CSP with no inline code', async () => {
    const r = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = r.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await r.text();
    // No inline script or style: every <script> has a src, and there is no <style> or style attribute.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/<style[\s>]|\sstyle=/i);
    const urls = [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"/gi)].map((m) => m[1]!);
    expect(urls.length).toBeGreaterThanOrEqual(2);
    for (const u of urls) {
      const abs = new URL(u, `${t.url}/graphql`);
      expect(abs.origin).toBe(new URL(t.url).origin);
      const asset = await fetch(abs);
      expect(asset.status, u).toBe(200);
      expect(asset.headers.get('content-type')).toMatch(/^(text\/javascript|text\/css)/);
    }
  });
});
