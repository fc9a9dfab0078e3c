import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MALFORMED_INPUTS, type CorpusContext, type MalformedRequest } from '../fixtures/malformed-inputs';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { connectRaw, liveQuery, waitFor } from '../live/live-fixtures';
import { createSampleDevices } from '../rest/fixtures';

let t: TestApp;
let tenant: Tenant;
let ctx: CorpusContext;

beforeAll(async () => {
  t = await startTestApp();
  tenant = await t.tenant('o-malformed');
  const [device] = await createSampleDevices(t, tenant, 'pkMalformed', ['malf1']);
  ctx = { orgId: tenant.orgId, ...device! };
});
afterAll(() => t.close());

async function send(r: MalformedRequest): Promise<{ status: number; body: any }> {
  let res: Response;
  switch (r.kind) {
    case 'graphql':
      res = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.token}` }, body: r.body });
      break;
    case 'enos-integration': {
      const b = 'corpusboundary';
      const body = `--${b}\r\nContent-Disposition: form-data; name="enos-message"\r\n\r\n${r.message}\r\n--${b}--\r\n`;
      res = await fetch(`${t.url}/connect-service/v2.1/integration?action=${r.action}&orgId=${ctx.orgId}`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${b}`, 'apim-accesstoken': tenant.token }, body });
      break;
    }
    case 'enos-raw':
      res = await fetch(`${t.url}${r.target}`, { method: r.method, headers: { 'apim-accesstoken': tenant.token, ...(r.contentType ? { 'content-type': r.contentType } : {}) }, ...(r.body !== undefined ? { body: r.body } : {}) });
      break;
    default: {
      const never: never = r;
      throw new Error(`unknown request kind ${String(never)}`);
    }
  }
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) };
}

describe('malformed input is the client\'s mistake: a 4xx with a clear message, and the process keeps serving', () => {
  it.each(MALFORMED_INPUTS.map((c) => [c.transport, c.name, c] as const))('%s: %s', async (_transport, _name, c) => {
    const r = await send(c.build(ctx));
    expect(r.status).toBe(c.expected.status);
    if (c.transport === 'graphql-http') {
      const err = r.body.errors?.[0];
      expect(err?.extensions?.code).toBe(c.expected.code);
      expect(err?.message).toMatch(c.expected.message);
    } else {
      expect(r.body.code).toBe(c.expected.code);
      expect(r.body.msg).toMatch(c.expected.message);
    }
    // Still serving, and the caller's next ordinary request works.
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    expect((await t.gql(tenant.token, '{ me { organisation { id } } }')).data?.me.organisation.id).toBe(ctx.orgId);
  });
});

describe('malformed input over graphql-ws', () => {
  it('refuses a NUL in a subscription variable and a document nested too deeply, and keeps the socket serving', async () => {
    const client = await connectRaw(t.url, tenant.token);
    try {
      const nul = client.subscribe('1', liveQuery('measurePointsLive'), { filter: { assetIds: ['a\u0000b'] } });
      const deep = client.subscribe('2', `subscription { measurePointsLive(filter: ${'{assetIds: ['.repeat(2_000)}${']}'.repeat(2_000)}) { offset } }`);
      await waitFor(() => nul.errors.length > 0 && deep.errors.length > 0, 'both refusals');
      expect(nul.errors[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
      expect(nul.errors[0]!.message).toMatch(/variables\.filter\.assetIds\[0\]: .*NUL/);
      expect(deep.errors[0]).toMatchObject({ extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
      expect(deep.errors[0]!.message).toMatch(/nested too deeply/);
      expect(client.closeCode).toBeNull();
    } finally {
      client.close();
    }
  });
});
