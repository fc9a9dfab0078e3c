import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getToken, refreshToken, reuseMinS, signTokenRequest, verifyToken, type TokenRequest } from '../../src/auth/tokens';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { json, rawRequest, type RawResponse } from './enos-wire';

let t: TestApp;
let tenant: Tenant;
let host: string;

beforeAll(async () => {
  t = await startTestApp({ TOKEN_FAILURES_PER_MIN: '1000' });
  tenant = await t.tenant('o-tokens');
  host = new URL(t.url).host;
});
afterAll(() => t.close());

interface TokenReply {
  status: number;
  msg: string;
  business: string;
  data: { accessToken: string; expire: number } | null;
}

/** Posts a token request as okhttp does (capture #1 / #3 headers). */
function tokenCall(path: 'get' | 'refresh', body: string): Promise<RawResponse> {
  const bytes = Buffer.from(body, 'utf8');
  return rawRequest(t.url, {
    method: 'POST',
    target: `/apim-token-service/v2.0/token/${path}`,
    headers: [['Content-Type', 'application/json; charset=utf-8'], ['Content-Length', String(bytes.length)], ['Host', host], ['Connection', 'Keep-Alive'], ['Accept-Encoding', 'gzip'], ['User-Agent', 'okhttp/3.13.1']],
    body: bytes,
  });
}

const sdkBody = (ak: string, sk: string, ts: string, accessToken?: string) => JSON.stringify({ appKey: ak, encryption: signTokenRequest(ak, ts, sk), timestamp: ts, ...(accessToken ? { accessToken } : {}) });

describe('token signature', () => {
  it('matches the test vectors of the reference and the captures', () => {
    expect(signTokenRequest('ak-demo', '1572574909697', 'sk-demo')).toBe('a8b880244e8e1b6388ff1136f66674f7acaddf95b02422f555ff81803b120cca');
    expect(signTokenRequest('demo-ak', '1795645363047', 'demo-sk')).toBe('bd3a5bf8108a768bf8bd7609afe1c6dd35d4906a9c31c0ba1773d2a5d55df606');
  });

  it('announces an expire well above the SDK refresh margin of 600 s for every allowed TTL', () => {
    for (const ttl of [660, 700, 1000, 1320, 7200, 86_400]) expect(reuseMinS(ttl)).toBeGreaterThan(600);
  });
});

describe('token routes as the SDK calls them', () => {
  it('#1 answers get with status 0, SUCCESS, the business name and an int expire of 7200', async () => {
    const r = await tokenCall('get', sdkBody(tenant.accessKey, tenant.secretKey, String(Date.now())));
    expect(r.status).toBe(200);
    const body = json<TokenReply>(r);
    expect(body).toMatchObject({ status: 0, msg: 'SUCCESS', business: 'apim-token-service' });
    expect(body.data?.accessToken).toEqual(expect.any(String));
    expect(Number.isInteger(body.data?.expire)).toBe(true);
    expect(body.data!.expire).toBeGreaterThan(3600);
  });

  it('accepts the timestamp as a JSON number too', async () => {
    const ts = Date.now() + 1;
    const body = JSON.stringify({ appKey: tenant.accessKey, encryption: signTokenRequest(tenant.accessKey, String(ts), tenant.secretKey), timestamp: ts });
    expect(json<TokenReply>(await tokenCall('get', body)).status).toBe(0);
  });

  it('#1+#3 a get, two concurrent gets with the same signature and an immediate refresh all yield one token that stays valid', async () => {
    const ts = String(Date.now() + 2);
    const [a, b] = await Promise.all([tokenCall('get', sdkBody(tenant.accessKey, tenant.secretKey, ts)), tokenCall('get', sdkBody(tenant.accessKey, tenant.secretKey, ts))]);
    const tokA = json<TokenReply>(a).data!.accessToken;
    expect(json<TokenReply>(b).data!.accessToken).toBe(tokA);
    const refreshed = json<TokenReply>(await tokenCall('refresh', sdkBody(tenant.accessKey, tenant.secretKey, String(Date.now() + 3), tokA)));
    expect(refreshed.status).toBe(0);
    expect(refreshed.data!.accessToken).toBe(tokA);
    expect(refreshed.data!.expire).toBeGreaterThan(600);
    const me = await t.gql(tokA, '{ me { organisation { id } } }');
    expect(me.data?.['me']).toEqual({ organisation: { id: 'o-tokens' } });
  });

  it('refuses with a non-zero status and always a JSON body', async () => {
    const cases: [string, number][] = [
      [sdkBody('no-such-key', 'x', String(Date.now())), 1002],
      [JSON.stringify({ appKey: tenant.accessKey, encryption: 'f'.repeat(64), timestamp: String(Date.now()) }), 1003],
      [JSON.stringify({ appKey: tenant.accessKey, timestamp: '1' }), 1202],
      ['not json', 1004],
      [sdkBody(tenant.accessKey, tenant.secretKey, String(Date.now() - 3_600_000)), 1004],
    ];
    for (const [body, status] of cases) {
      const r = await tokenCall('get', body);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(json<TokenReply>(r)).toMatchObject({ status, business: 'apim-token-service', data: null });
    }
    const bad = json<TokenReply>(await tokenCall('refresh', sdkBody(tenant.accessKey, tenant.secretKey, String(Date.now() + 4), 'tok-unknown')));
    expect(bad.status).toBe(1204);
  });
});

describe('token lifetime', () => {
  const req = (ts: number, accessToken?: string): TokenRequest => ({ appKey: tenant.accessKey, encryption: signTokenRequest(tenant.accessKey, String(ts), tenant.secretKey), timestamp: String(ts), accessToken });

  it('rotates a token near its end and keeps the replaced one valid for the whole lifetime it announced', async () => {
    const { db, box, tokenSettings: s } = t.app.deps;
    const t0 = Date.now() + 86_400_000;
    const first = await getToken(db, box, s, req(t0), new Date(t0));
    expect(first.expire).toBe(7200);
    // The SDK refreshes 10 minutes before the expiry it was told.
    const at = t0 + (first.expire - 600) * 1000;
    const second = await refreshToken(db, box, s, req(at, first.accessToken), new Date(at));
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(second.expire).toBe(7200);
    expect(await verifyToken(db, first.accessToken, new Date(at + 590_000))).toMatchObject({ orgId: 'o-tokens' });
    expect(await verifyToken(db, first.accessToken, new Date(t0 + 7_200_000))).toBeNull();
    // A late get (the SDK's other thread) is given the new token, not the old one.
    const late = await getToken(db, box, s, req(at + 1), new Date(at + 1));
    expect(late.accessToken).toBe(second.accessToken);
  });

  it('never hands out a token with less than the reuse margin left: a get then mints a new one', async () => {
    const { db, box, tokenSettings: s } = t.app.deps;
    const t0 = Date.now() + 3 * 86_400_000;
    const first = await getToken(db, box, s, req(t0), new Date(t0));
    const later = t0 + (7200 - reuseMinS(7200) + 1) * 1000;
    const next = await getToken(db, box, s, req(later), new Date(later));
    expect(next.accessToken).not.toBe(first.accessToken);
    expect(next.expire).toBe(7200);
  });

  it('refuses a signature seen again after the duplicate window as a replay (1001)', async () => {
    const { db, box, tokenSettings: s } = t.app.deps;
    const t0 = Date.now() + 5 * 86_400_000;
    await getToken(db, box, s, req(t0), new Date(t0));
    await expect(getToken(db, box, s, req(t0), new Date(t0 + 5_000))).resolves.toBeDefined();
    await expect(getToken(db, box, s, req(t0), new Date(t0 + 60_000))).rejects.toMatchObject({ status: 1001 });
  });
});
