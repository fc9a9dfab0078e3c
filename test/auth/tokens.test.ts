import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signTokenRequest } from '../../src/auth/tokens';
import { errorCode, startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { seedFleet } from '../fixtures/seed-data';

let t: TestApp;
let admin: Tenant;
beforeAll(async () => {
  t = await startTestApp();
  admin = await t.tenant('o-tokens');
});
afterAll(() => t.close());

type TokenReply = { status: number; msg: string; business: string; data: { accessToken: string; expire: number } | null };

async function post(path: 'get' | 'refresh', body: unknown, headers: Record<string, string> = {}): Promise<{ http: number; body: TokenReply; headers: Headers }> {
  const res = await fetch(`${t.url}/apim-token-service/v2.0/token/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { http: res.status, body: (await res.json()) as TokenReply, headers: res.headers };
}

const signed = (ak: string, sk: string, ts: number | string = Date.now(), extra: Record<string, unknown> = {}) => ({
  appKey: ak,
  encryption: signTokenRequest(ak, String(ts), sk),
  timestamp: typeof ts === 'number' ? String(ts) : ts,
  ...extra,
});

describe('the EnOS token service', () => {
  it('computes the signature of the reference test vectors', () => {
    expect(signTokenRequest('ak-demo', '1572574909697', 'sk-demo')).toBe('a8b880244e8e1b6388ff1136f66674f7acaddf95b02422f555ff81803b120cca');
    expect(signTokenRequest('demo-ak', '1795645363047', 'demo-sk')).toBe('bd3a5bf8108a768bf8bd7609afe1c6dd35d4906a9c31c0ba1773d2a5d55df606');
  });

  it('issues a token in the EnOS envelope for a string timestamp', async () => {
    const sa = await t.tenant('o-tokens', [{ permission: 'ASSET_READ' }]);
    const r = await post('get', signed(sa.accessKey, sa.secretKey));
    expect(r.http).toBe(200);
    expect(r.body).toMatchObject({ status: 0, msg: 'SUCCESS', business: 'apim-token-service' });
    expect(r.body.data!.accessToken).toMatch(/^tok-[0-9a-f]{32}$/);
    expect(r.body.data!.expire).toBeGreaterThan(7000);
  });

  it('accepts the timestamp as a JSON number too', async () => {
    const ts = Date.now();
    const r = await post('get', { appKey: admin.accessKey, encryption: signTokenRequest(admin.accessKey, String(ts), admin.secretKey), timestamp: ts });
    expect(r.body.status).toBe(0);
  });

  it('returns the same token while it is valid, and tolerates the SDK duplicate get', async () => {
    const sa = await t.tenant('o-tokens', [{ permission: 'ASSET_READ' }]);
    const ts = Date.now();
    const [a, b] = await Promise.all([post('get', signed(sa.accessKey, sa.secretKey, ts)), post('get', signed(sa.accessKey, sa.secretKey, ts))]);
    expect(a.body.status).toBe(0);
    expect(b.body.status).toBe(0);
    expect(a.body.data!.accessToken).toBe(b.body.data!.accessToken);
    expect(a.body.data!.accessToken).toBe(sa.token);
  });

  it('refuses an unknown appKey (1002), a bad signature (1003) and missing fields (1202)', async () => {
    expect((await post('get', signed('ak-unknown', 'x'))).body.status).toBe(1002);
    const bad = await post('get', signed(admin.accessKey, 'wrong-secret'));
    expect(bad.body.status).toBe(1003);
    expect(bad.body.data).toBeNull();
    expect((await post('get', { appKey: admin.accessKey })).body.status).toBe(1202);
    expect((await post('get', 'not json')).body.status).toBe(1004);
  });

  it('refuses a timestamp outside the skew window', async () => {
    const r = await post('get', signed(admin.accessKey, admin.secretKey, Date.now() - 3_600_000));
    expect(r.body.status).toBe(1004);
    expect(r.body.msg).toMatch(/skew/);
  });

  it('refreshes a young token idempotently (the SDK refreshes right after its first get)', async () => {
    const sa = await t.tenant('o-tokens', [{ permission: 'REGISTRY_READ' }]);
    const r = await post('refresh', signed(sa.accessKey, sa.secretKey, Date.now(), { accessToken: sa.token }));
    expect(r.body.status).toBe(0);
    expect(r.body.data!.accessToken).toBe(sa.token);
    expect(r.body.data!.expire).toBeGreaterThan(600);
  });

  it('refreshes a token near its end into a new one, and the old one keeps its announced lifetime', async () => {
    const sa = await t.tenant('o-tokens', [{ permission: 'REGISTRY_READ' }]);
    const { sql } = await import('drizzle-orm');
    const { sha256Hex } = await import('../../src/auth/secret-box');
    // Age the token to 5 minutes before its expiry, where the SDK refreshes.
    await t.db.execute(sql`update access_tokens set expires_at = now() + interval '5 minutes' where token_hash = ${sha256Hex(sa.token)}`);
    const r = await post('refresh', signed(sa.accessKey, sa.secretKey, Date.now(), { accessToken: sa.token }));
    expect(r.body.status).toBe(0);
    const fresh = r.body.data!.accessToken;
    expect(fresh).not.toBe(sa.token);
    expect(r.body.data!.expire).toBeGreaterThan(7000);
    expect((await t.gql(sa.token, '{ me { organisation { id } } }')).status).toBe(200);
    expect((await t.gql(fresh, '{ me { organisation { id } } }')).status).toBe(200);
    // get now returns the refreshed token.
    expect((await post('get', signed(sa.accessKey, sa.secretKey))).body.data!.accessToken).toBe(fresh);
    // Once its own expiry has passed, the old token is refused.
    await t.db.execute(sql`update access_tokens set expires_at = now() - interval '1 second' where token_hash = ${sha256Hex(sa.token)}`);
    expect((await t.gql(sa.token, '{ me { organisation { id } } }')).status).toBe(401);
  });

  it('refuses to refresh a token of another service account (1204)', async () => {
    const sa = await t.tenant('o-tokens', [{ permission: 'REGISTRY_READ' }]);
    const r = await post('refresh', signed(sa.accessKey, sa.secretKey, Date.now(), { accessToken: admin.token }));
    expect(r.body.status).toBe(1204);
  });

  it('refuses a replayed signature after the duplicate window (1001)', async () => {
    const sa = await t.tenant('o-tokens', [{ permission: 'REGISTRY_READ' }]);
    const body = signed(sa.accessKey, sa.secretKey);
    expect((await post('get', body)).body.status).toBe(0);
    // Age the recorded signature past the duplicate window instead of sleeping.
    await t.db.execute((await import('drizzle-orm')).sql`update token_nonces set seen_at = seen_at - interval '1 minute' where encryption = ${body.encryption}`);
    expect((await post('get', body)).body.status).toBe(1001);
  });

  it('revokes tokens at once when the service account is disabled, rotated or deleted', async () => {
    for (const action of ['disableServiceAccount(accessKey: $s) { enabled }', 'rotateServiceAccountSecret(accessKey: $s) { accessKey }', 'deleteServiceAccount(accessKey: $s)']) {
      const sa = await t.tenant('o-tokens', [{ permission: 'REGISTRY_READ' }]);
      expect((await t.gql(sa.token, '{ me { serviceAccount { accessKey } } }')).status).toBe(200);
      const r = await t.gql(admin.token, `mutation($s: ID!) { ${action} }`, { s: sa.accessKey });
      expect(r.errors).toBeUndefined();
      expect((await t.gql(sa.token, '{ me { serviceAccount { accessKey } } }')).status).toBe(401);
    }
  });

  it('re-enabling does not revive old tokens, but lets the SA get a new one', async () => {
    const sa = await t.tenant('o-tokens', [{ permission: 'REGISTRY_READ' }]);
    await t.gql(admin.token, 'mutation($s: ID!) { disableServiceAccount(accessKey: $s) { enabled } }', { s: sa.accessKey });
    expect((await post('get', signed(sa.accessKey, sa.secretKey))).body.status).toBe(1002);
    await t.gql(admin.token, 'mutation($s: ID!) { enableServiceAccount(accessKey: $s) { enabled } }', { s: sa.accessKey });
    expect((await t.gql(sa.token, '{ me { serviceAccount { accessKey } } }')).status).toBe(401);
    const fresh = await t.token(sa.accessKey, sa.secretKey);
    expect(fresh).not.toBe(sa.token);
    expect((await t.gql(fresh, '{ me { serviceAccount { accessKey } } }')).status).toBe(200);
  });

  it('honours an expired token as expired', async () => {
    const sa = await t.tenant('o-tokens', [{ permission: 'REGISTRY_READ' }]);
    const { sql } = await import('drizzle-orm');
    await t.db.execute(sql`update access_tokens set expires_at = now() - interval '1 second' where sa_id = (select id from service_accounts where access_key = ${sa.accessKey})`);
    expect((await t.gql(sa.token, '{ me { serviceAccount { accessKey } } }')).status).toBe(401);
  });

  it('accepts the token in the apim-accesstoken header as well as Bearer', async () => {
    const res = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'apim-accesstoken': admin.token }, body: JSON.stringify({ query: '{ me { organisation { id } } }' }) });
    expect(res.status).toBe(200);
  });

  it('rate-limits failed token requests per client with 429 and Retry-After', async () => {
    const strict = await startTestApp({ TOKEN_FAILURES_PER_MIN: '3' });
    let limited: { http: number; body: TokenReply; headers: Headers } | undefined;
    try {
      for (let i = 0; i < 6 && !limited; i++) {
        const res = await fetch(`${strict.url}/apim-token-service/v2.0/token/get`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(signed(`ak-nobody-${i}`, 'x')) });
        const r = { http: res.status, body: (await res.json()) as TokenReply, headers: res.headers };
        if (r.http === 429) limited = r;
      }
    } finally {
      await strict.close();
    }
    expect(limited).toBeDefined();
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited!.body.status).not.toBe(0);
  });
});

describe('throttling of failed token requests', () => {
  it('throttles 50 bad signatures for one AccessKey while its owner still gets a token from the same address', async () => {
    const strict = await startTestApp({ TOKEN_FAILURES_PER_MIN: '20' });
    try {
      const owner = await strict.tenant('o-throttle', [{ permission: 'ASSET_READ' }]);
      const neighbour = await strict.tenant('o-throttle', [{ permission: 'ASSET_READ' }]);
      const get = async (body: unknown) => {
        const res = await fetch(`${strict.url}/apim-token-service/v2.0/token/get`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        return { http: res.status, body: (await res.json()) as TokenReply, headers: res.headers };
      };
      const bad: { http: number; body: TokenReply; headers: Headers }[] = [];
      for (let i = 0; i < 50; i++) bad.push(await get(signed(owner.accessKey, 'sk-wrong', Date.now() + i)));
      expect(bad.slice(0, 20).every((r) => r.http === 200 && r.body.status === 1003)).toBe(true);
      const throttled = bad.slice(20);
      expect(throttled.every((r) => r.http === 429 && r.body.status !== 0 && Number(r.headers.get('retry-after')) > 0 && Number(r.headers.get('retry-after')) <= 60)).toBe(true);

      // The owner, behind the same address, is not locked out; nor is a neighbour on that address.
      const ok = await get(signed(owner.accessKey, owner.secretKey));
      expect(ok.http).toBe(200);
      expect(ok.body.status).toBe(0);
      expect(ok.body.data?.accessToken).toMatch(/^tok-/);
      const other = await get(signed(neighbour.accessKey, neighbour.secretKey, Date.now() + 1));
      expect([other.http, other.body.status]).toEqual([200, 0]);

      // Failures stay throttled.
      const again = await get(signed(owner.accessKey, 'sk-wrong', Date.now() + 99));
      expect(again.http).toBe(429);
      expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await strict.close();
    }
  });
});

describe('service account administration', () => {
  it('creates an SA whose secret is shown once and stored only encrypted', async () => {
    await seedFleet(t.db, admin.orgId, { productKey: 'pk-app', count: 0 });
    const r = await t.gql(admin.token, 'mutation { createServiceAccount(name: "app", grants: [{ permission: ASSET_READ, productKeys: ["pk-app"] }]) { accessKey secretKey serviceAccount { name enabled grants { permission productKeys assetIds } } } }');
    const c = r.data!.createServiceAccount;
    expect(c.serviceAccount).toEqual({ name: 'app', enabled: true, grants: [{ permission: 'ASSET_READ', productKeys: ['pk-app'], assetIds: null }] });
    const { sql } = await import('drizzle-orm');
    const rows = (await t.db.execute(sql`select secret_enc from service_accounts where access_key = ${c.accessKey}`)) as unknown as { secret_enc: string }[] | { rows: { secret_enc: string }[] };
    const stored = (Array.isArray(rows) ? rows : rows.rows)[0]!.secret_enc;
    expect(stored).not.toContain(c.secretKey);
    expect(stored.startsWith('v1.')).toBe(true);
    const listed = await t.gql(admin.token, '{ serviceAccounts { accessKey name } }');
    expect(JSON.stringify(listed.data)).not.toContain(c.secretKey);
  });

  it('refuses grants that are empty or unknown, and an SA deleting itself', async () => {
    expect(errorCode(await t.gql(admin.token, 'mutation { createServiceAccount(name: "x", grants: []) { accessKey } }'))).toBe('BAD_USER_INPUT');
    expect(errorCode(await t.gql(admin.token, 'mutation { createServiceAccount(name: "x", grants: [{ permission: NOPE }]) { accessKey } }'))).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(errorCode(await t.gql(admin.token, 'mutation($s: ID!) { deleteServiceAccount(accessKey: $s) }', { s: admin.accessKey }))).toBe('CONFLICT');
  });
});
