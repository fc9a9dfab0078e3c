import { describe, expect, it } from 'vitest';
import { aggregate } from '../../src/policies/computed';

/* Window functions of computed points over the largest doubles (every finite double is valid). */

const BIG = 1e308;
const MAX = Number.MAX_VALUE;

describe('window functions over the largest doubles', () => {
  it('averages +-1e308, +-MAX and mixes without overflowing', () => {
    expect(aggregate('AVG', [BIG, BIG])).toBe(BIG);
    expect(aggregate('AVG', [-BIG, -BIG])).toBe(-BIG);
    expect(aggregate('AVG', [MAX, MAX, MAX])).toBe(MAX);
    expect(aggregate('AVG', [MAX, -MAX])).toBe(0);
    expect(aggregate('AVG', [2 ** 1023, -(2 ** 1023), 2 ** 1000])).toBe(2 ** 1000 / 3);
  });

  it('rounds ordinary means exactly as an unscaled mean', () => {
    const vs = [0.1, 0.2, 0.3, 1 / 3, 1e-3, 123456.789];
    expect(aggregate('AVG', vs)).toBe(vs.reduce((a, b) => a + b, 0) / vs.length);
  });

  it('answers MIN, MAX, COUNT, FIRST and LAST as they are, and SUM beyond a double as Infinity', () => {
    expect(aggregate('MIN', [BIG, -MAX])).toBe(-MAX);
    expect(aggregate('MAX', [BIG, MAX])).toBe(MAX);
    expect(aggregate('COUNT', [BIG, MAX])).toBe(2);
    expect(aggregate('FIRST', [BIG, MAX])).toBe(BIG);
    expect(aggregate('LAST', [BIG, MAX])).toBe(MAX);
    expect(aggregate('SUM', [BIG, -BIG, 5])).toBe(5);
    expect(aggregate('SUM', [BIG, BIG])).toBe(Infinity);
  });
});
