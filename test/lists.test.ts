import { describe, expect, it } from 'vitest';
import { concatLists } from '../src/lists';

describe('concatLists', () => {
  it('joins the lists in order into a new array, as flatMap would', () => {
    const a = [{ k: 1 }, { k: 2 }];
    const b: { k: number }[] = [];
    const c = [{ k: 3 }];
    const joined = concatLists([a, b, c]);
    expect(joined).toEqual([{ k: 1 }, { k: 2 }, { k: 3 }]);
    expect(joined[0]).toBe(a[0]);
    expect(joined).toEqual([a, b, c].flatMap((l) => l));
    joined.push({ k: 4 });
    expect(a).toHaveLength(2);
  });

  it('keeps arrays that are elements as they are and gives an empty list for none', () => {
    const tuples: [number, string][][] = [[[1, 'a']], [[2, 'b']]];
    expect(concatLists(tuples)).toEqual([[1, 'a'], [2, 'b']]);
    expect(concatLists([])).toEqual([]);
    expect(Object.keys(concatLists([[1], [2]]))).toEqual(['0', '1']);
  });
});
