import { type Agent, request } from 'node:http';

/** The ingest mutation the benchmarks post. */
export const POST_POINTS = 'mutation($items: [PointsItemInput!]!) { postMeasurePoints(items: $items) { accepted } }';

/** Posts a prepared postMeasurePoints body over keep-alive HTTP; resolves with the accepted count. */
export function postPoints(agent: Agent, target: { readonly url: string; readonly token: string }, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(`${target.url}/graphql`);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${target.token}`, 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const parsed = JSON.parse(text) as { data?: { postMeasurePoints?: { accepted: number } }; errors?: unknown };
        if (parsed.errors || !parsed.data?.postMeasurePoints) reject(new Error(text.slice(0, 500)));
        else resolve(parsed.data.postMeasurePoints.accepted);
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Serialised postMeasurePoints bodies of `batchPoints` values each (one value per point of an
 * item, a random DOUBLE), cycling over the devices; the time moves by `stepMs` after each cycle.
 * Built before the clock starts: the client shares the cores with the service.
 */
export function batchBodies(o: { readonly assetIds: readonly string[]; readonly pointIds: readonly string[]; readonly batches: number; readonly batchPoints: number; readonly startTime: number; readonly stepMs: number }): string[] {
  const itemsPerBatch = Math.max(1, Math.floor(o.batchPoints / o.pointIds.length));
  let t = o.startTime;
  let seq = 0;
  const bodies: string[] = [];
  for (let b = 0; b < o.batches; b++) {
    const items = [];
    for (let k = 0; k < itemsPerBatch; k++) {
      const values: Record<string, number> = {};
      for (const p of o.pointIds) values[p] = Math.round(Math.random() * 1e6) / 100;
      items.push({ assetId: o.assetIds[seq % o.assetIds.length], time: t, values });
      if (++seq % o.assetIds.length === 0) t += o.stepMs;
    }
    bodies.push(JSON.stringify({ query: POST_POINTS, variables: { items } }));
  }
  return bodies;
}

/** Posts `bodies` from `clients` concurrent loops; the accepted points, failed requests and seconds taken. */
export async function postAll(agent: Agent, target: { readonly url: string; readonly token: string }, bodies: readonly string[], clients: number): Promise<{ points: number; failures: number; seconds: number }> {
  let failures = 0;
  let points = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        try {
          // NOTE: not `points += await ...`, which reads `points` before the await and loses the other loops' counts.
          const accepted = await postPoints(agent, target, body);
          points += accepted;
        } catch (e) {
          if (++failures < 3) process.stderr.write(`batch failed: ${(e as Error).message}\n`);
        }
      }
    }),
  );
  return { points, failures, seconds: (performance.now() - started) / 1000 };
}

/** Runs a GraphQL operation over fetch (set-up calls of the benchmarks); throws on errors. */
export async function gql(url: string, token: string, query: string, variables: Record<string, unknown>): Promise<Record<string, any>> {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: Record<string, any>; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}
