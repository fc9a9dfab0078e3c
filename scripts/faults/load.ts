import { Agent } from 'node:http';
import { connect, type Socket } from 'node:net';
import { send, type Outcome } from './http';
import type { Service } from './service';
import { acknowledged, batchBody, POINTS } from './setup';
import type { IngestTarget } from './durability';

const headersOf = (token: string) => ({ 'content-type': 'application/json', authorization: `Bearer ${token}` });

/** Requests per second of `clients` closed loops over `seconds`. */
export async function closedLoopCapacity(target: IngestTarget, clients: number, seconds: number, base: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const perBatch = target.assetIds.length * POINTS.length;
  let ok = 0;
  let n = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const r = await send(agent, target.url, 'POST', '/graphql', headersOf(target.token), batchBody(target.assetIds, base + n++ * 1000));
        if (acknowledged(r.status, r.body, perBatch)) ok++;
      }
    }),
  );
  agent.destroy();
  return ok / seconds;
}

/** What an open-loop overload run saw. */
export interface OverloadResult {
  readonly offered: number;
  readonly ok: number;
  readonly rejected429: number;
  readonly rejected503: number;
  readonly other: number;
  /** 429/503 answers without Retry-After. */
  readonly missingRetryAfter: number;
  /** Requests with no answer (connection refused or reset, or the client's 30 s timeout). */
  readonly noAnswer: number;
  readonly p50OkMs: number;
  readonly p99OkMs: number;
  readonly peakRssMb: number;
  /** Seconds after the load stopped until a probe query answered within twice its unloaded latency (and at most 1 s). */
  readonly recoverySeconds: number;
}

const percentile = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]! : NaN);

/** Offers `rate` requests per second for `seconds`, whatever the answers (open loop). */
export async function openLoopOverload(target: IngestTarget, service: Service, rate: number, seconds: number, base: number): Promise<OverloadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 400 });
  const probeAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const probe = async () => (await send(probeAgent, target.url, 'POST', '/graphql', headersOf(target.token), JSON.stringify({ query: '{ devices(first: 5) { totalCount } }' }), 30_000)).ms;
  await probe();
  const unloadedMs = Math.max(20, Math.min(await probe(), await probe(), await probe()));
  const outcomes: Promise<Outcome>[] = [];
  let n = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsed = (performance.now() - started) / 1000;
      if (elapsed >= seconds) {
        clearInterval(tick);
        return resolve();
      }
      while (outcomes.length < elapsed * rate) outcomes.push(send(agent, target.url, 'POST', '/graphql', headersOf(target.token), batchBody(target.assetIds, base + n++ * 1000), 30_000));
    }, 5);
  });
  const stoppedAt = performance.now();
  let recoverySeconds = Infinity;
  while ((performance.now() - stoppedAt) / 1000 < 60) {
    const ms = await probe();
    if (ms <= Math.max(2 * unloadedMs, 100) && ms <= 1000) {
      recoverySeconds = (performance.now() - stoppedAt) / 1000;
      break;
    }
  }
  const all = await Promise.all(outcomes);
  agent.destroy();
  probeAgent.destroy();
  const perBatch = target.assetIds.length * POINTS.length;
  const okMs = all.filter((o) => acknowledged(o.status, o.body, perBatch)).map((o) => o.ms);
  const refused = all.filter((o) => o.status === 429 || o.status === 503);
  return {
    offered: all.length,
    ok: okMs.length,
    rejected429: all.filter((o) => o.status === 429).length,
    rejected503: all.filter((o) => o.status === 503).length,
    other: all.filter((o) => o.status !== 0 && o.status !== 429 && o.status !== 503 && !acknowledged(o.status, o.body, perBatch)).length,
    missingRetryAfter: refused.filter((o) => !o.retryAfter).length,
    noAnswer: all.filter((o) => o.status === 0).length,
    p50OkMs: percentile(okMs, 50),
    p99OkMs: percentile(okMs, 99),
    peakRssMb: service.peakRssMb(),
    recoverySeconds,
  };
}

/**
 * Opens `count` connections that send a request's headers one line per second and never finish
 * them; seconds until the server closed the last one (capped at `limitS`), and whether /healthz
 * answered meanwhile.
 */
export async function slowHeaderSockets(url: string, count: number, limitS: number): Promise<{ closed: number; lastClosedS: number; healthzMs: number }> {
  const u = new URL(url);
  const started = performance.now();
  let closed = 0;
  let lastClosedS = 0;
  const sockets: Socket[] = [];
  const allClosed = new Promise<void>((resolve) => {
    for (let i = 0; i < count; i++) {
      const s = connect(Number(u.port), u.hostname, () => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'));
      s.on('error', () => {});
      s.on('data', () => {});
      const drip = setInterval(() => s.writable && s.write(`X-Slow-${i}: ${Date.now()}\r\n`), 1_000);
      s.once('close', () => {
        clearInterval(drip);
        closed++;
        lastClosedS = (performance.now() - started) / 1000;
        if (closed === count) resolve();
      });
      sockets.push(s);
    }
  });
  await new Promise((r) => setTimeout(r, 1_000));
  const agent = new Agent();
  const healthz = await send(agent, url, 'GET', '/healthz', {}, undefined, 10_000);
  agent.destroy();
  await Promise.race([allClosed, new Promise((r) => setTimeout(r, limitS * 1000))]);
  for (const s of sockets) s.destroy();
  return { closed, lastClosedS: closed === count ? lastClosedS : Infinity, healthzMs: healthz.status === 200 ? healthz.ms : Infinity };
}

/** Opens `count` idle connections at once from this address; how many the server closed at once, and /healthz meanwhile. */
export async function connectionFlood(url: string, count: number): Promise<{ refused: number; healthzMs: number }> {
  const u = new URL(url);
  let refused = 0;
  const sockets: Socket[] = [];
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve) => {
          const s = connect(Number(u.port), u.hostname, () => resolve());
          s.on('error', () => resolve());
          s.once('close', () => refused++);
          sockets.push(s);
        }),
    ),
  );
  await new Promise((r) => setTimeout(r, 500));
  const refusedNow = refused;
  // The flood holds this address's share; the health check comes from another loopback address.
  const healthzMs = await healthzFrom(u, '127.0.0.2');
  for (const s of sockets) s.destroy();
  return { refused: refusedNow, healthzMs };
}

/** Milliseconds until /healthz answers 200 to a connection from `localAddress` (Infinity when it does not within 10 s). */
function healthzFrom(u: URL, localAddress: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => {
    const s = connect({ port: Number(u.port), host: u.hostname, localAddress }, () => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    const timer = setTimeout(() => finish(Infinity), 10_000);
    let got = '';
    const finish = (ms: number) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ms);
    };
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.startsWith('HTTP/1.1 200')) finish(performance.now() - started);
    });
    s.on('error', () => finish(Infinity));
    s.on('close', () => finish(got.startsWith('HTTP/1.1 200') ? performance.now() - started : Infinity));
  });
}
