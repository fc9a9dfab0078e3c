import { gunzipSync } from 'node:zlib';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleCsp } from '../../src/server/console-routes';
import { startTestApp, type TestApp } from '../helpers/test-app';

/** The console's HTTP side: the page, its assets, their headers. The browser suite is test/console/. */

let t: TestApp;

/** A GET with raw bytes back (fetch would unzip them). */
function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${t.url}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

describe('/console', () => {
  it('redirects /console to /console/', async () => {
    const r = await get('/console');
    expect(r.status).toBe(308);
    expect(r.headers['location']).toBe('/console/');
  });

  it('serves the page with a Content-Security-Policy that allows no inline script or style, and no cache', async () => {
    const r = await get('/console/', { host: 'tributary.example:4000' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['cache-control']).toBe('no-cache');
    const csp = String(r.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("connect-src 'self' ws://tributary.example:4000 wss://tributary.example:4000");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe');
    const html = r.body.toString('utf8');
    // Every script of the page is a same-origin file: none has a body.
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/src="\/console\/assets\/[\w.-]+\.js"/);
      expect(body?.trim()).toBe('');
    }
    expect(html).not.toMatch(/\son[a-z]+=/i);
  });

  it('serves the page for any path under /console/ (the application routes in the browser)', async () => {
    const [root, deep] = await Promise.all([get('/console/'), get('/console/devices/abc')]);
    expect(deep.status).toBe(200);
    expect(deep.body.equals(root.body)).toBe(true);
  });

  it('serves hashed assets for a year, compressed when asked, and 404 for unknown or unsafe names', async () => {
    const html = (await get('/console/')).body.toString('utf8');
    const js = /src="(\/console\/assets\/[\w.-]+\.js)"/.exec(html)?.[1];
    expect(js).toBeDefined();
    const plain = await get(js!);
    expect(plain.status).toBe(200);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers['x-content-type-options']).toBe('nosniff');
    const zipped = await get(js!, { 'accept-encoding': 'gzip, br' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.body.length).toBeLessThan(plain.body.length);
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    const head = await get(js!, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    for (const path of ['/console/assets/nothing-here.js', '/console/assets/..%2F..%2Fpackage.json', '/console/assets/.hidden.js', '/console/assets/index.html']) {
      expect((await get(path)).status, path).toBe(404);
    }
  });

  it('names the WebSocket origin only for a well-formed Host', () => {
    expect(consoleCsp('a.example:80')).toContain("connect-src 'self' ws://a.example:80 wss://a.example:80;");
    expect(consoleCsp("evil; script-src 'unsafe-inline'")).toContain("connect-src 'self';");
    expect(consoleCsp(undefined)).toContain("connect-src 'self';");
  });
});
