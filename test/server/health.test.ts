import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { DRIVER } from '../helpers/test-db';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('health and readiness', () => {
  it('answers /healthz while the process is alive', async () => {
    const res = await fetch(`${t.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz with the database reachable and every migration applied', async () => {
    const res = await fetch(`${t.url}/readyz`);
    const body = (await res.json()) as { status: string; migrations: { applied: number; expected: number }; timescale: boolean };
    expect(res.status).toBe(200);
    expect(body.status).toBe('ready');
    expect(body.migrations.applied).toBe(body.migrations.expected);
    expect(body.timescale).toBe(DRIVER === 'postgres');
  });

  it('refuses GraphQL without a token with HTTP 401 and UNAUTHENTICATED', async () => {
    const r = await t.gql(undefined, '{ me { organisation { id } } }');
    expect(r.status).toBe(401);
    expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a forged token with HTTP 401', async () => {
    const r = await t.gql('tok-00000000000000000000000000000000', '{ me { organisation { id } } }');
    expect(r.status).toBe(401);
  });

  it('serves GraphQL over GET as well as POST', async () => {
    const tenant = await t.tenant('o-health');
    const res = await fetch(`${t.url}/graphql?query=${encodeURIComponent('{ me { organisation { id } } }')}`, { headers: { authorization: `Bearer ${tenant.token}`, 'apollo-require-preflight': 'true' } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: { me: { organisation: { id: string } } } }).data.me.organisation.id).toBe('o-health');
  });

  it('answers unknown routes with 404 in the REST envelope', async () => {
    const res = await fetch(`${t.url}/nope`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: number }).code).toBe(99404);
  });
});
