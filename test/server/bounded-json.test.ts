import { describe, expect, it } from 'vitest';
import { ResponseTooLargeError, stringifyBounded } from '../../src/server/bounded-json';
import { createLoopYielder } from '../../src/query/yield-loop';

const samples: unknown[] = [
  null,
  0,
  -1.5e-300,
  'text with "quotes", \\ and \u2028 and ünïcödé',
  [],
  {},
  [1, null, undefined, 'a', true, () => 1, { x: undefined, y: [undefined] }],
  { data: { a: [{ times: [1, 2, 3], columns: [{ values: [1.5, null, 3] }] }], b: null }, errors: [{ message: 'm', path: ['a', 0], extensions: { code: 'X' } }] },
  { date: new Date(Date.UTC(2026, 0, 1)), nested: { toJSON: () => ({ replaced: true }) } },
  Array.from({ length: 300 }, (_, i) => ({ i, v: i % 3 ? i / 7 : null, s: `row ${i}` })),
  Array.from({ length: 20_000 }, (_, i) => (i % 5000 === 0 ? { boundary: i } : i * 1.25)),
];

describe('stringifyBounded', () => {
  it('writes what JSON.stringify writes', async () => {
    for (const v of samples) expect(await stringifyBounded(v, 1e9)).toBe(JSON.stringify(v));
  });

  it('stops past the byte cap (UTF-8) without building the whole text', async () => {
    const big = { data: { values: Array.from({ length: 100_000 }, (_, i) => i) } };
    const size = Buffer.byteLength(JSON.stringify(big));
    expect(await stringifyBounded(big, size)).toHaveLength(size);
    await expect(stringifyBounded(big, size - 1)).rejects.toBeInstanceOf(ResponseTooLargeError);
    // Non-ASCII text counts by its UTF-8 bytes.
    const wide = { s: 'é'.repeat(1000) };
    await expect(stringifyBounded(wide, 1500)).rejects.toBeInstanceOf(ResponseTooLargeError);
  });

  it('lets the event loop run while it writes a large result', async () => {
    // Two million bucket values: far longer than one slice on any machine.
    const big = { data: { a: [{ times: Array.from({ length: 2_000_000 }, (_, i) => 1_767_225_600_000 + i * 1000), columns: [{ values: Array.from({ length: 2_000_000 }, (_, i) => i / 3) }] }] } };
    let turns = 0;
    const timer = setInterval(() => turns++, 0);
    const text = await stringifyBounded(big, 1e9);
    clearInterval(timer);
    expect(text.length).toBeGreaterThan(40_000_000);
    expect(turns).toBeGreaterThan(0);
  });
});

describe('createLoopYielder', () => {
  it('lets the event loop run during a long loop, and never yields in a short one', async () => {
    const y = createLoopYielder(1);
    let turns = 0;
    const timer = setInterval(() => turns++, 0);
    let yielded = 0;
    for (let i = 0; i < 50_000_000 && turns === 0; i++) {
      const p = y.tick();
      if (p) {
        yielded++;
        await p;
      }
    }
    clearInterval(timer);
    expect(yielded).toBeGreaterThan(0);
    expect(turns).toBeGreaterThan(0);
    const quick = createLoopYielder();
    let any = false;
    for (let i = 0; i < 1000; i++) any ||= quick.tick() !== undefined;
    expect(any).toBe(false);
  });
});
