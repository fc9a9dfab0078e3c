import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withAdmin } from '../helpers/pg-admin';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { DRIVER } from '../helpers/test-db';

/*
 * A database outage while a request authenticates (the token lookup is the first query of every
 * request): the client gets the house internal error, with an id, and nothing of the SQL, its
 * parameters (the token's hash) or the driver's message.
 */

let t: TestApp;
let tenant: Tenant;
const seen: string[] = [];

beforeAll(async () => {
  t = await startTestApp();
  tenant = await t.tenant('o-outage');
  // The instance has never checked this token for GraphQL: the request must look it up.
  const { createHash } = await import('node:crypto');
  seen.push(createHash('sha256').update(tenant.token).digest('hex'));
  // Cut the database: no new connections, and the pool's connections are closed.
  if (DRIVER === 'postgres') {
    await withAdmin(async (sql) => {
      await sql.unsafe(`alter database ${t.tdb.name} allow_connections false`);
      await sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${t.tdb.name!}`;
    });
    // Let the pool see its sockets close.
    await new Promise((r) => setTimeout(r, 200));
  } else {
    await t.tdb.database.close();
  }
});
afterAll(async () => {
  if (DRIVER === 'postgres') await withAdmin((sql) => sql.unsafe(`alter database ${t.tdb.name} allow_connections true`));
  await t.close().catch(() => {});
});

/** Nothing internal in a response body. */
function expectNothingInternal(text: string): void {
  expect(text).not.toMatch(/select |Failed query|params:|sa_id|postgres|PGlite|CONNECTION_|ECONNREFUSED|accepting connections|Context creation/i);
  for (const s of [...seen, tenant.token]) expect(text).not.toContain(s);
}

describe('a database outage while a request authenticates', () => {
  it('answers GraphQL with an internal error and its id, nothing more', async () => {
    const res = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.token}` }, body: JSON.stringify({ query: '{ me { orgId } }' }) });
    const text = await res.text();
    expectNothingInternal(text);
    expect(res.status).toBeGreaterThanOrEqual(500);
    const body = JSON.parse(text) as { errors: { message: string; extensions: { code: string; errorId?: string } }[] };
    expect(body.errors).toHaveLength(1);
    const [err] = body.errors;
    expect(err!.extensions.code).toMatch(/^(INTERNAL_SERVER_ERROR|SERVICE_UNAVAILABLE)$/);
    if (err!.extensions.code === 'INTERNAL_SERVER_ERROR') {
      expect(err!.message).toMatch(/^Internal error \(id: [0-9a-f-]{36}\)$/);
      expect(err!.message).toContain(err!.extensions.errorId);
    }
  });

  it('answers the REST shim with the EnOS envelope of an internal error, nothing more', async () => {
    const res = await fetch(`${t.url}/connect-service/v2.1/measurepoints?action=queryLatest&assetId=x&orgId=o-outage`, { method: 'POST', headers: { 'content-type': 'application/json', 'apim-accesstoken': tenant.token }, body: '{}' });
    const text = await res.text();
    expectNothingInternal(text);
    expect(res.status).toBeGreaterThanOrEqual(500);
    const body = JSON.parse(text) as { code: number; msg: string };
    expect(body.code).not.toBe(0);
    expect(body.msg).toMatch(/Internal error \(id: [0-9a-f-]{36}\)|unavailable/i);
  });
});
