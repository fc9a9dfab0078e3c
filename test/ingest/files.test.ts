import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeStalePendingFiles } from '../../src/files/file-janitor';
import { FILE_URI_RE } from '../../src/files/file-uri';
import { queryRows } from '../../src/storage/db';
import { files as filesTable } from '../../src/storage/schema/index';
import { errorCode, startTestApp, type TestApp, type Tenant } from '../helpers/test-app';
import { POST_ATTRIBUTES, POST_EVENTS, POST_POINTS, postMultipart, setupDevices } from './fixtures';

let t: TestApp;
let org: Tenant;
let assets: string[];
const T0 = 1_700_000_000_000;
const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

beforeAll(async () => {
  t = await startTestApp();
  org = await t.tenant('o-files');
  assets = await setupDevices(t, org, 'pkFiles', 2);
});
afterAll(() => t.close());

const fileRows = async () => queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from files where state = 'pending'`).then((r) => r[0]?.n);
const download = (path: string, headers: Record<string, string> = {}, token = org.token) => fetch(`${t.url}${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
const pathOf = (uri: string) => `/files/${uri.slice('enos-connect://'.length)}`;

async function upload(content: Buffer | string, opts: { name?: string; filename?: string; md5?: string; time?: number } = {}) {
  const name = opts.name ?? 'a.txt';
  return postMultipart(t, org.token, POST_POINTS, { items: [{ assetId: assets[0], time: opts.time ?? T0, values: { file: `local://${name}`, i: 1 } }] }, [{ name, content, ...(opts.filename ? { filename: opts.filename } : {}), ...(opts.md5 ? { md5: opts.md5 } : {}) }]);
}

describe('file upload with points', () => {
  it('stores the file with the points and writes its stable URI into the value', async () => {
    const content = 'hello, file world';
    const r = await upload(content, { md5: md5(content) });
    expect(r.errors).toBeUndefined();
    const res = r.data?.['postMeasurePoints'];
    expect(res).toMatchObject({ accepted: 2, files: [{ name: 'a.txt', sizeBytes: content.length, md5: md5(content) }] });
    expect(res.files[0].uri).toMatch(FILE_URI_RE);
    const rows = await queryRows<{ txt: string }>(t.db, sql`select txt from point_data where txt like 'enos-connect://%'`);
    expect(rows.map((x) => x.txt)).toContain(res.files[0].uri);
  });

  it('refuses a multipart request without the CSRF preflight header', async () => {
    const r = await postMultipart(t, org.token, POST_POINTS, { items: [] }, [{ name: 'x', content: 'x' }], { preflight: false });
    expect(r.status).toBe(400);
  });

  it('downloads the whole file with Accept-Ranges, and a byte range with 206, Content-Range and an exact Content-Length', async () => {
    const content = randomBytes(2_500_000);
    const r = await upload(content, { name: 'big.bin', time: T0 + 1 });
    expect(r.errors).toBeUndefined();
    const uri = r.data?.['postMeasurePoints'].files[0].uri as string;
    const whole = await download(pathOf(uri));
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(whole.headers.get('content-length')).toBe(String(content.length));
    expect(Buffer.from(await whole.arrayBuffer()).equals(content)).toBe(true);

    const start = 1024 * 1024 - 10;
    const part = await download(pathOf(uri), { range: `bytes=${start}-${start + 99}` });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes ${start}-${start + 99}/${content.length}`);
    expect(part.headers.get('content-length')).toBe('100');
    expect(part.headers.get('transfer-encoding')).toBeNull();
    expect(Buffer.from(await part.arrayBuffer()).equals(content.subarray(start, start + 100))).toBe(true);

    const suffix = await download(pathOf(uri), { range: 'bytes=-5' });
    expect(suffix.status).toBe(206);
    expect(Buffer.from(await suffix.arrayBuffer()).equals(content.subarray(content.length - 5))).toBe(true);

    const bad = await download(pathOf(uri), { range: `bytes=${content.length}-` });
    expect(bad.status).toBe(416);
    expect(bad.headers.get('content-range')).toBe(`bytes */${content.length}`);
  });

  it('answers 401 without a token and 404 for an unknown file', async () => {
    expect((await fetch(`${t.url}/files/AAAAAAAAAAAAAAAA/x.txt`)).status).toBe(401);
    expect((await download('/files/AAAAAAAAAAAAAAAA/x.txt')).status).toBe(404);
    expect((await download('/files/..%2F..%2Fetc%2Fpasswd')).status).toBe(404);
  });

  it('accepts files inside STRUCT members, event parameters and attributes', async () => {
    const s = await postMultipart(t, org.token, POST_POINTS, { items: [{ assetId: assets[0], time: T0 + 2, values: { st: { a: 1, f: 'local://s.txt' } } }] }, [{ name: 's.txt', content: 'struct' }]);
    expect(s.errors).toBeUndefined();
    const sUri = s.data?.['postMeasurePoints'].files[0].uri;
    const rows = await queryRows<{ json: { f: string } }>(t.db, sql`select json from point_data where time = ${new Date(T0 + 2).toISOString()}::timestamptz`);
    expect(rows[0]?.json.f).toBe(sUri);

    const e = await postMultipart(t, org.token, POST_EVENTS, { items: [{ assetId: assets[0], time: T0, events: { alarm: { code: 1, attach: 'local://e.txt' } } }] }, [{ name: 'e.txt', content: 'event' }]);
    expect(e.errors).toBeUndefined();
    const a = await postMultipart(t, org.token, POST_ATTRIBUTES, { items: [{ assetId: assets[0], values: { doc: 'local://d.txt' } }] }, [{ name: 'd.txt', content: 'attr' }]);
    expect(a.errors).toBeUndefined();
    const dUri = a.data?.['postAttributes'].files[0].uri;
    expect(await (await download(pathOf(dUri))).text()).toBe('attr');
  });

  it('accepts an existing URI of the same device and refuses one of another device', async () => {
    const r = await upload('reuse', { name: 'r.txt', time: T0 + 3 });
    const uri = r.data?.['postMeasurePoints'].files[0].uri;
    const same = await t.gql(org.token, POST_POINTS, { items: [{ assetId: assets[0], time: T0 + 4, values: { file: uri } }] });
    expect(same.errors).toBeUndefined();
    const other = await t.gql(org.token, POST_POINTS, { items: [{ assetId: assets[1], time: T0 + 4, values: { file: uri } }] });
    expect((other.errors?.[0]?.extensions?.details as any).errors[0]).toMatchObject({ code: 'FILE_MISSING', identifier: 'file' });
  });

  it('lists a device\'s files and deletes one; the download then answers 404', async () => {
    const r = await upload('to delete', { name: 'del.txt', time: T0 + 5 });
    const uri = r.data?.['postMeasurePoints'].files[0].uri as string;
    const list = await t.gql(org.token, `{ deviceFiles(device: { assetId: "${assets[0]}" }) { uri downloadPath sizeBytes } }`);
    expect(list.data?.['deviceFiles'].map((f: { uri: string }) => f.uri)).toContain(uri);
    const del = await t.gql(org.token, 'mutation($d: DeviceRefInput!, $u: String!) { deleteFile(device: $d, uri: $u) }', { d: { assetId: assets[0] }, u: uri });
    expect(del.data?.['deleteFile']).toBe(true);
    expect((await download(pathOf(uri))).status).toBe(404);
    const again = await t.gql(org.token, 'mutation($d: DeviceRefInput!, $u: String!) { deleteFile(device: $d, uri: $u) }', { d: { assetId: assets[0] }, u: uri });
    expect(errorCode(again)).toBe('NOT_FOUND');
  });

  it('refuses a wrong MD5 and keeps nothing', async () => {
    const r = await upload('content', { name: 'm.txt', md5: md5('other'), time: T0 + 6 });
    expect(errorCode(r as never)).toBe('MODEL_VIOLATION');
    expect(r.errors?.[0]?.extensions?.details.errors[0]).toMatchObject({ code: 'FILE_INVALID', identifier: 'file' });
    expect(await fileRows()).toBe(0);
    const pts = await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from point_data where time = ${new Date(T0 + 6).toISOString()}::timestamptz`);
    expect(pts[0]?.n).toBe(0);
  });

  it('refuses a bad item without storing the request\'s files, even a large one', async () => {
    const r = await postMultipart(t, org.token, POST_POINTS, { items: [{ assetId: assets[0], time: T0 + 40, values: { file: 'local://refused.bin', nope: 1 } }] }, [{ name: 'refused.bin', content: randomBytes(3_000_000) }]);
    expect(errorCode(r as never)).toBe('MODEL_VIOLATION');
    const rows = await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from files where original_name = 'refused.bin'`);
    expect(rows[0]?.n).toBe(0);
  });

  it('reads the files of a refused operation, so that the same connection serves the next request', async () => {
    // One keep-alive socket: a stalled multipart body would block the second request.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = async (variables: Record<string, unknown>, content: Buffer) => {
      const form = new FormData();
      form.append('operations', JSON.stringify({ query: POST_POINTS, variables: { ...variables, files: [{ name: 'x', file: null }] } }));
      form.append('map', JSON.stringify({ 0: ['variables.files.0.file'] }));
      form.append('0', new Blob([content]), 'x');
      const encoded = new Response(form);
      const bytes = Buffer.from(await encoded.arrayBuffer());
      const url = new URL(`${t.url}/graphql`);
      return new Promise<{ status: number; body: any }>((resolve, reject) => {
        const req = request({ host: url.hostname, port: url.port, path: '/graphql', method: 'POST', agent, timeout: 10_000, headers: { 'content-type': encoded.headers.get('content-type')!, 'content-length': bytes.length, authorization: `Bearer ${org.token}`, 'apollo-require-preflight': '1' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) }));
        });
        req.on('timeout', () => req.destroy(new Error('stalled')));
        req.on('error', reject);
        req.end(bytes);
      });
    };
    try {
      const big = randomBytes(2_000_000);
      const early = await send({ items: [{ assetId: assets[0], values: { file: 'local://x' } }] }, big);
      expect(early.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      const refused = await send({ items: [{ assetId: assets[0], time: T0 + 43, values: { file: 'local://x', nope: 1 } }] }, big);
      expect(refused.body.errors[0].extensions.code).toBe('MODEL_VIOLATION');
      const ok = await send({ items: [{ assetId: assets[0], time: T0 + 42, values: { file: 'local://x' } }] }, Buffer.from('after'));
      expect(ok.body.errors).toBeUndefined();
    } finally {
      agent.destroy();
    }
  });

  it('stores in PARTIAL mode only the files of accepted items', async () => {
    const r = await postMultipart(
      t,
      org.token,
      POST_POINTS,
      {
        mode: 'PARTIAL',
        items: [
          { assetId: assets[0], time: T0 + 41, values: { file: 'local://kept.txt' } },
          { assetId: assets[1], time: T0 + 41, values: { file: 'local://dropped.txt', i: 'bad' } },
        ],
      },
      [
        { name: 'kept.txt', content: 'kept' },
        { name: 'dropped.txt', content: 'dropped' },
      ],
    );
    expect(r.errors).toBeUndefined();
    expect(r.data?.['postMeasurePoints']).toMatchObject({ accepted: 1, rejected: 1, files: [{ name: 'kept.txt' }] });
    const rows = await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from files where original_name = 'dropped.txt'`);
    expect(rows[0]?.n).toBe(0);
  });

  it('makes a path-traversal file name harmless', async () => {
    const r = await upload('evil', { name: '../../../etc/passwd', filename: '../../../etc/passwd', time: T0 + 7 });
    expect(r.errors).toBeUndefined();
    const uri = r.data?.['postMeasurePoints'].files[0].uri as string;
    expect(uri).toMatch(FILE_URI_RE);
    expect(uri).not.toContain('..');
    expect(await (await download(pathOf(uri))).text()).toBe('evil');
  });

  it('leaves no file behind when the transaction fails after the upload', async () => {
    const boom = async () => {
      throw new Error('writer failed');
    };
    t.app.deps.ingestPipeline.writers.push(boom);
    try {
      const r = await upload('doomed', { name: 'doomed.txt', time: T0 + 8 });
      expect(errorCode(r as never)).toBe('INTERNAL_SERVER_ERROR');
    } finally {
      t.app.deps.ingestPipeline.writers.pop();
    }
    const rows = await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from files where original_name = 'doomed.txt'`);
    expect(rows[0]?.n).toBe(0);
    const chunks = await queryRows<{ n: number }>(t.db, sql`select count(*)::int as n from file_chunks c left join files f on f.id = c.file_id where f.id is null`);
    expect(chunks[0]?.n).toBe(0);
  });

  it('leaves no file behind when the client disconnects mid-upload', async () => {
    const boundary = 'XbOuNdArY';
    const ops = JSON.stringify({ query: POST_POINTS, variables: { items: [{ assetId: assets[0], time: T0 + 9, values: { file: 'local://cut.txt' } }], files: [{ name: 'cut.txt', file: null }] } });
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${ops}\r\n--${boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0":["variables.files.0.file"]}\r\n--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="cut.txt"\r\nContent-Type: application/octet-stream\r\n\r\n`;
    const url = new URL(`${t.url}/graphql`);
    await new Promise<void>((resolve) => {
      const req = request({ host: url.hostname, port: url.port, path: '/graphql', method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, authorization: `Bearer ${org.token}`, 'apollo-require-preflight': '1', 'content-length': 10_000_000 } });
      req.on('error', () => resolve());
      req.write(head);
      req.write(randomBytes(1_500_000), async () => {
        // Cut the connection once the server is streaming the file into the store.
        for (let k = 0; k < 100 && (await fileRows()) === 0; k++) await new Promise((r) => setTimeout(r, 50));
        req.destroy();
        resolve();
      });
    });
    for (let k = 0; k < 50 && (await fileRows()) !== 0; k++) await new Promise((r) => setTimeout(r, 100));
    expect(await fileRows()).toBe(0);
  });

  it('removes stale pending files with the janitor', async () => {
    const [dev] = await queryRows<{ id: number }>(t.db, sql`select id from devices where asset_id = ${assets[0]}`);
    await t.db.insert(filesTable).values({ orgId: 'o-files', deviceId: dev!.id, uri: 'enos-connect://STALESTALESTALE0/x', fileName: 'x', originalName: 'x', sizeBytes: 0, md5: '', store: 'postgres', state: 'pending', createdAt: new Date(Date.now() - 7_200_000) });
    expect(await removeStalePendingFiles(t.app.deps, 3600)).toBe(1);
    expect(await fileRows()).toBe(0);
  });
});

describe('file limits', () => {
  it('refuses a file above UPLOAD_MAX_BYTES and more files than UPLOAD_MAX_FILES, keeping nothing', async () => {
    const small = await startTestApp({ UPLOAD_MAX_BYTES: '1000', UPLOAD_MAX_FILES: '1' }, { tdb: t.tdb });
    try {
      const big = await postMultipart(small, org.token, POST_POINTS, { items: [{ assetId: assets[0], time: T0 + 20, values: { file: 'local://big' } }] }, [{ name: 'big', content: randomBytes(5000) }]);
      expect(big.errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
      const exact = await postMultipart(small, org.token, POST_POINTS, { items: [{ assetId: assets[0], time: T0 + 21, values: { file: 'local://ok' } }] }, [{ name: 'ok', content: randomBytes(1000) }]);
      expect(exact.errors, JSON.stringify(exact.errors)).toBeUndefined();
      const two = await postMultipart(small, org.token, POST_POINTS, { items: [{ assetId: assets[0], time: T0 + 22, values: { file: 'local://a' } }] }, [
        { name: 'a', content: 'a' },
        { name: 'b', content: 'b' },
      ]);
      expect(two.status).toBe(413);
      expect(await fileRows()).toBe(0);
    } finally {
      await small.app.stop(100);
    }
  });
});

describe('directory file store', () => {
  it('stores files under FILE_DIR by id, never by the client name, and serves ranges', async () => {
    const dirApp = await startTestApp({ FILE_STORE: 'dir' }, { tdb: t.tdb });
    const dir = join(dirApp.dataDir, 'files');
    try {
      const content = randomBytes(3000);
      const r = await postMultipart(dirApp, org.token, POST_POINTS, { items: [{ assetId: assets[1], time: T0 + 30, values: { file: 'local://../../x' } }] }, [{ name: '../../x', content, filename: '../../x' }]);
      expect(r.errors).toBeUndefined();
      const uri = r.data?.['postMeasurePoints'].files[0].uri as string;
      expect(readdirSync(join(dir, 'o-files'))).toHaveLength(1);
      expect(existsSync(join(dirApp.dataDir, 'x'))).toBe(false);
      const part = await fetch(`${dirApp.url}${pathOf(uri)}`, { headers: { authorization: `Bearer ${org.token}`, range: 'bytes=10-19' } });
      expect(part.status).toBe(206);
      expect(Buffer.from(await part.arrayBuffer()).equals(content.subarray(10, 20))).toBe(true);
      const del = await dirApp.gql(org.token, 'mutation($d: DeviceRefInput!, $u: String!) { deleteFile(device: $d, uri: $u) }', { d: { assetId: assets[1] }, u: uri });
      expect(del.data?.['deleteFile']).toBe(true);
      expect(readdirSync(join(dir, 'o-files'))).toHaveLength(0);
    } finally {
      await dirApp.app.stop(100);
    }
  });
});
