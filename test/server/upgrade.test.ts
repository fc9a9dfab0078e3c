import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { signTokenRequest } from '../../src/auth/tokens';
import { startTestApp, type Tenant, type TestApp } from '../helpers/test-app';
import { json, rawRequest } from '../rest/enos-wire';

/*
 * Upgrade offers that are not a WebSocket on /graphql: Java 11+'s HttpClient and `curl --http2`
 * offer h2c on plain HTTP. The server declines them and answers as HTTP/1.1.
 */

let t: TestApp;
let tenant: Tenant;
let host: string;

beforeAll(async () => {
  t = await startTestApp();
  tenant = await t.tenant('o-upgrade');
  host = new URL(t.url).host;
});
afterAll(() => t.close());

/** The headers Java's HttpClient (HTTP_2 by default) adds to a plain-HTTP request. */
const H2C_OFFER = [
  ['Connection', 'Upgrade, HTTP2-Settings'],
  ['Upgrade', 'h2c'],
  ['HTTP2-Settings', 'AAEAAEAAAAIAAAABAAMAAABkAAQBAAAAAAUAAEAA'],
] as const;

function tokenBody(): Buffer {
  const ts = String(Date.now());
  return Buffer.from(JSON.stringify({ appKey: tenant.accessKey, encryption: signTokenRequest(tenant.accessKey, ts, tenant.secretKey), timestamp: ts }));
}

describe('upgrade offers on ordinary routes', () => {
  it('answers a token get that offers h2c as HTTP/1.1 JSON', async () => {
    const body = tokenBody();
    const r = await rawRequest(t.url, {
      method: 'POST',
      target: '/apim-token-service/v2.0/token/get',
      headers: [['Host', host], ...H2C_OFFER, ['Content-Length', String(body.length)], ['Content-Type', 'application/json'], ['User-Agent', 'Java-http-client/17']],
      body,
    });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(json(r)).toMatchObject({ status: 0, data: { accessToken: expect.any(String) } });
  });

  it('answers a chunked POST that offers h2c (curl --http2 with a streamed body)', async () => {
    const body = tokenBody();
    const framed = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
    const r = await rawRequest(t.url, {
      method: 'POST',
      target: '/apim-token-service/v2.0/token/get',
      headers: [['Host', host], ...H2C_OFFER, ['Transfer-Encoding', 'chunked'], ['Content-Type', 'application/json']],
      body: framed,
    });
    expect(r.status).toBe(200);
    expect(json(r)['status']).toBe(0);
  });

  it('answers a GET that offers h2c, and a WebSocket offer outside /graphql, as HTTP', async () => {
    const h2c = await rawRequest(t.url, { target: '/healthz', headers: [['Host', host], ...H2C_OFFER] });
    expect(h2c.status).toBe(200);
    expect(json(h2c)).toEqual({ status: 'ok' });
    const ws = await rawRequest(t.url, {
      target: '/healthz',
      headers: [['Host', host], ['Connection', 'Upgrade'], ['Upgrade', 'websocket'], ['Sec-WebSocket-Version', '13'], ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ==']],
    });
    expect(ws.status).toBe(200);
  });

  it('keeps the connection for the next request after declining an offer', async () => {
    const sock: Socket = connect(Number(new URL(t.url).port), '127.0.0.1');
    let received = '';
    sock.on('data', (d: Buffer) => (received += d.toString('latin1')));
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\n${H2C_OFFER.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
    await expect.poll(() => received.includes('{"status":"ok"}')).toBe(true);
    sock.write(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    await expect.poll(() => received.split('HTTP/1.1 200').length - 1).toBe(2);
    expect(received).not.toMatch(/101 Switching/);
    sock.destroy();
  });
});

describe('WebSocket on /graphql', () => {
  it('still completes the graphql-ws handshake', async () => {
    const ws = new WebSocket(`${t.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    const ack = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { accessToken: tenant.token } })));
      ws.once('message', (m) => resolve(String(m)));
      ws.once('error', reject);
    });
    expect(JSON.parse(ack)).toMatchObject({ type: 'connection_ack' });
    ws.close();
  });
});
