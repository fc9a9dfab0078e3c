/**
 * Single-point requests for `bench:ingest`: the request bodies of both paths (the EnOS REST API
 * with its multipart body, as devices send, and the GraphQL mutation), the concurrent keep-alive
 * client loops with their latencies, and the floor: a bare `node:http` handler that parses the
 * same body and does one `INSERT ... ON CONFLICT` of the row over postgres.js.
 */
import { createServer, request, type Agent, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import busboy from 'busboy';
import postgres from 'postgres';
import { POST_POINTS } from './post-points';

/** The two request shapes a single point travels in. */
export type BodyKind = 'graphql' | 'rest';

/** One prepared request: path, headers and body. */
export interface PreparedRequest {
  readonly path: string;
  readonly headers: Readonly<Record<string, string | number>>;
  readonly body: Buffer;
}

const BOUNDARY = 'bench-4f1c2e0b9a';

/** The `enos-message` of one point, as the EnOS SDK writes it. */
function enosMessage(assetId: string, pointId: string, time: number, value: number): string {
  return JSON.stringify({ method: 'integration.measurepoint.post', files: {}, id: '1', params: [{ assetId, time, measurepoints: { [pointId]: value } }], version: '1.1', isRealtimeIntegration: true });
}

/** `count` single-point requests of `kind`, cycling over the devices, times from `startTime` on (one ms apart). */
export function singlePointRequests(kind: BodyKind, o: { readonly token: string; readonly orgId: string; readonly assetIds: readonly string[]; readonly pointId: string; readonly startTime: number; readonly count: number }): PreparedRequest[] {
  const out: PreparedRequest[] = [];
  for (let k = 0; k < o.count; k++) {
    const assetId = o.assetIds[k % o.assetIds.length]!;
    const time = o.startTime + k;
    const value = Math.round(Math.random() * 1e6) / 100;
    if (kind === 'graphql') {
      const body = Buffer.from(JSON.stringify({ query: POST_POINTS, variables: { items: [{ assetId, time, values: { [o.pointId]: value } }] } }));
      out.push({ path: '/graphql', headers: { 'content-type': 'application/json', authorization: `Bearer ${o.token}`, 'content-length': body.length }, body });
    } else {
      const msg = Buffer.from(enosMessage(assetId, o.pointId, time, value));
      const body = Buffer.concat([Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="enos-message"\r\nContent-Length: ${msg.length}\r\n\r\n`), msg, Buffer.from(`\r\n--${BOUNDARY}--\r\n`)]);
      out.push({ path: `/connect-service/v2.1/integration?action=postMeasurepoint&orgId=${o.orgId}`, headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'apim-accesstoken': o.token, 'content-length': body.length }, body });
    }
  }
  return out;
}

/** Sends one request; resolves when the answer says the point was stored. */
function send(agent: Agent, base: URL, r: PreparedRequest): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: base.hostname, port: base.port, path: r.path, method: 'POST', agent, headers: r.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        // GraphQL: {"data":{"postMeasurePoints":{"accepted":1}}}; REST: {"code":0,...}; floor: {"ok":true}.
        if (res.statusCode === 200 && (text.includes('"accepted":1') || text.startsWith('{"code":0') || text === '{"ok":true}')) resolve();
        else reject(new Error(`${res.statusCode} ${text.slice(0, 300)}`));
      });
    });
    req.on('error', reject);
    req.end(r.body);
  });
}

/** What a run of single-point requests measured. */
export interface SingleRun {
  /** Requests acknowledged (stored); the refused ones (429 under overload, say) are in `failures`. */
  readonly requests: number;
  readonly seconds: number;
  readonly failures: number;
  /** Latency percentiles, ms. */
  readonly p50: number;
  readonly p99: number;
}

/** Posts every request from `clients` concurrent keep-alive loops; requests/s and latency. */
export async function runSingle(agent: Agent, url: string, requests: readonly PreparedRequest[], clients: number): Promise<SingleRun> {
  const base = new URL(url);
  const latencies = new Float64Array(requests.length);
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < requests.length) {
        const k = next++;
        const t0 = performance.now();
        try {
          await send(agent, base, requests[k]!);
        } catch (e) {
          if (++failures < 3) process.stderr.write(`single-point request failed: ${(e as Error).message}\n`);
        }
        latencies[k] = performance.now() - t0;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort();
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { requests: requests.length - failures, seconds, failures, p50: at(0.5), p99: at(0.99) };
}

/** The floor server: started in the service's process, stopped after its runs. */
export interface Floor {
  readonly url: string;
  close(): Promise<void>;
}

/** Reads the `enos-message` field of a multipart body with busboy (what the service uses). */
function readEnosMessage(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const bb = busboy({ headers: req.headers });
    let message = '';
    bb.on('field', (name, value) => {
      if (name === 'enos-message') message = value;
    });
    bb.on('file', (_name, stream) => stream.resume());
    bb.on('close', () => resolve(message));
    bb.on('error', reject);
    req.pipe(bb);
  });
}

function readAll(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString()));
    req.on('error', reject);
  });
}

/**
 * Starts the floor: parses the body of either path (JSON, or multipart then the message's JSON),
 * finds the device and point ids in memory and upserts the row into a copy of point_data
 * (same columns and indexes) with one prepared `INSERT ... ON CONFLICT` over a pool of
 * `poolMax` connections; answers after the commit.
 */
export async function startFloor(pgUrl: string, poolMax: number, devices: ReadonlyMap<string, number>, points: ReadonlyMap<string, number>): Promise<Floor> {
  const sql = postgres(pgUrl, { max: poolMax, onnotice: () => {} });
  await sql`create table if not exists bench_floor (like point_data including defaults including indexes)`;
  const server: Server = createServer((req, res) => {
    void (async () => {
      try {
        let item: { assetId: string; time: number; values: Record<string, number> };
        if (String(req.headers['content-type']).startsWith('multipart/')) {
          const p = (JSON.parse(await readEnosMessage(req)) as { params: { assetId: string; time: number; measurepoints: Record<string, number> }[] }).params[0]!;
          item = { assetId: p.assetId, time: p.time, values: p.measurepoints };
        } else {
          item = (JSON.parse(await readAll(req)) as { variables: { items: (typeof item)[] } }).variables.items[0]!;
        }
        const [pointId, value] = Object.entries(item.values)[0]!;
        const d = devices.get(item.assetId);
        const p = points.get(pointId);
        if (d === undefined || p === undefined) throw new Error('unknown device or point');
        await sql`insert into bench_floor (time, device_id, point_id, num) values (${new Date(item.time)}, ${d}, ${p}, ${value})
                  on conflict (device_id, point_id, time) do update set num = excluded.num`;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      } catch (e) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end((e as Error).message);
      }
    })();
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await sql`drop table if exists bench_floor`;
      await sql.end();
    },
  };
}

/** Latency as text: p50/p99 in ms. */
export const latencyText = (r: SingleRun) => `p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms`;
