/**
 * The elements of `lists`, in order, in one new array: `lists.flatMap((l) => l)` without its
 * cost (V8's flatMap takes a generic path, about 60 ns per element; this copies).
 */
export function concatLists<T>(lists: readonly (readonly T[])[]): T[] {
  let n = 0;
  for (const l of lists) n += l.length;
  const out = new Array<T>(n);
  let k = 0;
  for (const l of lists) for (let i = 0; i < l.length; i++) out[k++] = l[i]!;
  return out;
}
