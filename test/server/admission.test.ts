import { describe, expect, it } from 'vitest';
import { createAdmissionController } from '../../src/server/admission';

const limits = { maxRequests: 4, maxBytes: 1000, queueMax: 4, queueTimeoutMs: 200 };

describe('admission controller', () => {
  it('admits up to maxRequests at once and queues the next until a slot frees', async () => {
    const c = createAdmissionController(limits);
    const permits = await Promise.all([1, 2, 3, 4].map(() => c.acquire('a', 10)));
    expect(permits.every(Boolean)).toBe(true);
    const waiting = c.acquire('a', 10);
    expect(c.stats().queued).toBe(1);
    permits[0]!.release();
    expect(await waiting).not.toBeNull();
    expect(c.stats()).toMatchObject({ inflightRequests: 4, queued: 0, admittedTotal: 5, rejectedTotal: 0 });
  });

  it('refuses a request that waits longer than the queue timeout', async () => {
    const c = createAdmissionController({ ...limits, maxRequests: 1 });
    const held = await c.acquire('a', 1);
    const started = Date.now();
    expect(await c.acquire('a', 1)).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(c.stats().rejectedTotal).toBe(1);
    held!.release();
  });

  it('refuses at once when the queue is full', async () => {
    const c = createAdmissionController({ ...limits, maxRequests: 1, queueMax: 2, queueTimeoutMs: 10_000 });
    const held = await c.acquire('a', 1);
    const queued = [c.acquire('a', 1), c.acquire('a', 1)];
    expect(await c.acquire('a', 1)).toBeNull();
    held!.release();
    const [p1] = await Promise.all([queued[0]]);
    p1!.release();
    (await queued[1])!.release();
  });

  it('bounds the body bytes in flight, but always admits one request when nothing runs', async () => {
    const c = createAdmissionController({ ...limits, queueMax: 0 });
    const big = await c.acquire('a', 5000);
    expect(big).not.toBeNull();
    expect(await c.acquire('a', 10)).toBeNull();
    big!.release();
    const p = [await c.acquire('a', 600), await c.acquire('a', 600)];
    expect(p[0]).not.toBeNull();
    expect(p[1]).toBeNull();
    expect(c.stats().inflightBytes).toBe(600);
  });

  it('keeps a fair share for a second organisation while the first floods', async () => {
    const c = createAdmissionController({ ...limits, queueTimeoutMs: 10_000 });
    const flood = await Promise.all([1, 2, 3, 4].map(() => c.acquire('org:a', 1)));
    const floodQueue = [1, 2, 3, 4].map(() => c.acquire('org:a', 1));
    expect(c.stats().queued).toBe(4);
    // org b queues although the queue is full: a's newest waiter gives way.
    const b1 = c.acquire('org:b', 1);
    const b2 = c.acquire('org:b', 1);
    expect(await floodQueue[3]).toBeNull();
    expect(await floodQueue[2]).toBeNull();
    // Freed slots go to b until both have their share (2 of 4).
    flood[0]!.release();
    flood[1]!.release();
    expect(await b1).not.toBeNull();
    expect(await b2).not.toBeNull();
    flood[2]!.release();
    expect(c.stats().inflightRequests).toBe(4);
    expect(await floodQueue[0]).not.toBeNull();
  });

  it('shares the weight (bytes or values) fairly too: an organisation past its share waits while another is admitted', async () => {
    const c = createAdmissionController({ maxRequests: 100, maxBytes: 100, queueMax: 10, queueTimeoutMs: 10_000 });
    const a1 = await c.acquire('org:a', 30);
    const a2 = await c.acquire('org:a', 30);
    expect(a2).not.toBeNull();
    const b1 = await c.acquire('org:b', 10);
    expect(b1).not.toBeNull();
    // a holds 60 of 100 while b is active: its share is 50, so its next request waits, though the total has room.
    const a3 = c.acquire('org:a', 10);
    const b2 = await c.acquire('org:b', 10);
    expect(b2).not.toBeNull();
    expect(c.stats().queued).toBe(1);
    a1!.release();
    expect(await a3).not.toBeNull();
  });

  it('caps the requests of one key at maxRequestsPerKey, even alone, while other keys are admitted', async () => {
    const c = createAdmissionController({ ...limits, maxRequestsPerKey: 1, queueTimeoutMs: 100 });
    const first = await c.acquire('a', 1);
    expect(first).not.toBeNull();
    expect(await c.acquire('a', 1)).toBeNull();
    expect(await c.acquire('b', 1)).not.toBeNull();
    const waiting = c.acquire('a', 1);
    first!.release();
    expect(await waiting).not.toBeNull();
  });

  it('release is idempotent', async () => {
    const c = createAdmissionController(limits);
    const p = await c.acquire('a', 10);
    p!.release();
    p!.release();
    expect(c.stats()).toMatchObject({ inflightRequests: 0, inflightBytes: 0, activeKeys: 0 });
  });
});
