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
