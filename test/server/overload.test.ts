import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';

// Small limits so that each one is reached with a handful of sockets.
let t: TestApp;
let tenant: Tenant;
let port: number;
beforeAll(async () => {
  t = await startTestApp({
    ADMISSION_MAX_REQUESTS: '2',
    ADMISSION_QUEUE_MAX: '1',
    ADMISSION_QUEUE_TIMEOUT_MS: '300',
    HTTP_HEADERS_TIMEOUT_MS: '600',
    HTTP_IDLE_TIMEOUT_MS: '800',
    HTTP_MAX_CONNECTIONS_PER_ADDRESS: '12',
    GRAPHQL_MAX_DOCUMENT_BYTES: '4096',
    GRAPHQL_MAX_TOKENS: '500',
    WS_MAX_CONNECTIONS_PER_ORG: '1',
  });
  tenant = await t.tenant('o-overload');
  port = Number(new URL(t.url).port);
});
afterAll(() => t.close());

/** Opens a raw socket and resolves once it is connected. */
function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** Milliseconds until the server closes `s` (or `limitMs` when it does not). */
function closedWithin(s: Socket, limitMs: number): Promise<number> {
  const started = Date.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(limitMs), limitMs);
    s.on('error', () => {});
    s.resume();
    s.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
  });
}

/** Starts a GraphQL POST whose body never completes: it holds an admission slot until its socket closes. */
async function holdSlot(): Promise<Socket> {
  const s = await open();
  s.on('error', () => {});
  s.write(`POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${tenant.token}\r\nContent-Length: 100\r\n\r\n{"query":`);
  return s;
}

describe('admission control', () => {
  it('answers requests beyond the in-flight limit and the queue with 429, RATE_LIMITED and Retry-After on both transports', async () => {
    const held = [await holdSlot(), await holdSlot()];
    await new Promise((r) => setTimeout(r, 100));
    const gql = fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.token}` }, body: JSON.stringify({ query: '{ me { organisation { id } } }' }) });
    const rest = fetch(`${t.url}/connect-service/v2.1/measurepoints?orgId=o-overload`, { method: 'POST', headers: { 'apim-accesstoken': tenant.token, 'content-type': 'application/json' }, body: '{}' });
    const [g, r] = await Promise.all([gql, rest]);
    expect(g.status).toBe(429);
    expect(g.headers.get('retry-after')).toBe('1');
    expect(((await g.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('RATE_LIMITED');
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('1');
    expect(((await r.json()) as { code: number }).code).toBe(99429);
    // Health checks are never queued behind the load.
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    for (const s of held) s.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect((await t.gql(tenant.token, '{ me { organisation { id } } }')).status).toBe(200);
    expect(t.app.admission.stats()).toMatchObject({ inflightRequests: 0, queued: 0 });
  });
});

describe('connection hygiene', () => {
  it('closes a connection whose headers do not arrive within HTTP_HEADERS_TIMEOUT_MS', async () => {
    const s = await open();
    s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const ms = await closedWithin(s, 5_000);
    expect(ms).toBeLessThan(3_000);
  });

  it('keeps an idle keep-alive connection open past the headers and idle timeouts (keepAliveTimeout governs it)', async () => {
    const s = await open();
    const ask = () =>
      new Promise<string>((resolve) => {
        s.once('data', (d: Buffer) => resolve(d.toString()));
        s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      });
    expect(await ask()).toMatch(/^HTTP\/1\.1 200/);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(s.destroyed).toBe(false);
    expect(await ask()).toMatch(/^HTTP\/1\.1 200/);
    s.destroy();
  });

  it('closes a request whose body stalls for HTTP_IDLE_TIMEOUT_MS', async () => {
    const s = await holdSlot();
    const ms = await closedWithin(s, 5_000);
    expect(ms).toBeLessThan(3_000);
  });

  it('lets a slow but moving body through, however long it takes in total', async () => {
    const s = await open();
    const body = JSON.stringify({ query: '{ me { organisation { id } } }' });
    s.write(`POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${tenant.token}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
    let answer = '';
    s.on('data', (d: Buffer) => (answer += d.toString()));
    const done = new Promise((r) => s.once('close', r));
    // Past the idle timeout in total, in pieces 150 ms apart.
    for (let i = 0; i < body.length; i += 3) {
      s.write(body.slice(i, i + 3));
      await new Promise((r) => setTimeout(r, 150));
    }
    await done;
    expect(answer.startsWith('HTTP/1.1 200')).toBe(true);
  });

  it('closes connections past the per-address cap at once, and /healthz still answers', async () => {
    const sockets = await Promise.all(Array.from({ length: 12 }, () => open()));
    const extra = await open();
    expect(await closedWithin(extra, 2_000)).toBeLessThan(1_000);
    expect(t.app.connectionStats().refusedTotal).toBeGreaterThanOrEqual(1);
    for (const s of sockets) s.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });

  it('refuses a second WebSocket of an organisation over WS_MAX_CONNECTIONS_PER_ORG with close code 4429', async () => {
    const connectWs = () => {
      const ws = new WebSocket(`${t.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
      const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      const acked = new Promise<boolean>((r) => {
        ws.on('message', (m) => r(JSON.parse(String(m)).type === 'connection_ack'));
        ws.once('close', () => r(false));
      });
      ws.once('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { accessToken: tenant.token } })));
      return { ws, closed, acked };
    };
    const first = connectWs();
    expect(await first.acked).toBe(true);
    const second = connectWs();
    expect(await second.closed).toBe(4429);
    first.ws.close();
    await first.closed;
    const third = connectWs();
    expect(await third.acked).toBe(true);
    third.ws.close();
  });
});

describe('GraphQL document limits', () => {
  it('refuses a document over GRAPHQL_MAX_DOCUMENT_BYTES with 413 PAYLOAD_TOO_LARGE before parsing it', async () => {
    const query = `{ ${'__typename '.repeat(1_000)} }`;
    const r = await t.gql(tenant.token, query);
    expect(r.status).toBe(413);
    expect(r.errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('stops parsing a document past GRAPHQL_MAX_TOKENS', async () => {
    const query = `{${' a'.repeat(600)} }`;
    expect(query.length).toBeLessThan(4096);
    const r = await t.gql(tenant.token, query);
    // A parse failure is 200 for application/json, as the GraphQL-over-HTTP spec recommends.
    expect(r.status).toBe(200);
    expect(r.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(r.errors?.[0]?.message).toMatch(/500 tokens/);
  });

  it('answers an empty document with 400, not 500', async () => {
    // Twice: the second request meets the cached operation kind of the first.
    for (let i = 0; i < 2; i++) {
      const r = await t.gql(tenant.token, '');
      expect(r.status).toBe(400);
    }
  });
});
