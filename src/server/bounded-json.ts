/*
 * JSON serialisation of GraphQL responses that neither blocks the event loop for long nor grows
 * without bound. A large result (a million bucket values, a thousand history rows of long text)
 * is written in slices: about every SLICE_MS the writer waits for the event loop, so that health
 * checks and other requests keep being answered, and it stops as soon as the output passes the
 * byte cap instead of building the whole string.
 */

/** Longest stretch of serialising before the writer lets other work in, in ms. */
const SLICE_MS = 10;
/** Elements of an array of plain values serialised in one native call. */
const PRIMITIVE_SLICE = 8_192;
/** An array at least this long is taken to hold small rows: each element is serialised natively (not walked). */
const ROW_ARRAY_MIN = 256;

/** Thrown by {@link stringifyBounded} when the output would exceed its cap. */
export class ResponseTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`the response exceeds ${maxBytes} bytes`);
    this.name = 'ResponseTooLargeError';
  }
}

const isPrimitive = (v: unknown): boolean => v === null || typeof v !== 'object';

class Writer {
  readonly parts: string[] = [];
  bytes = 0;
  #since = performance.now();

  constructor(private readonly maxBytes: number) {}

  push(s: string): void {
    // NOTE: UTF-16 length is a lower bound of the UTF-8 size; exact bytes are counted only for chunks that could hold non-ASCII text.
    this.bytes += s.length > 64 ? Buffer.byteLength(s) : s.length;
    if (this.bytes > this.maxBytes) throw new ResponseTooLargeError(this.maxBytes);
    this.parts.push(s);
  }

  /** Waits for the event loop when this slice has run long enough. */
  pause(): Promise<void> | undefined {
    if (performance.now() - this.#since < SLICE_MS) return undefined;
    return new Promise((resolve) =>
      setImmediate(() => {
        this.#since = performance.now();
        resolve();
      }),
    );
  }
}

/** What JSON.stringify writes for a value inside an array (undefined, functions and symbols become null). */
function nativeInArray(v: unknown): string {
  return JSON.stringify(v) ?? 'null';
}

async function write(w: Writer, value: unknown, key: string): Promise<void> {
  let v = value;
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON(k: string): unknown }).toJSON(key);
  if (isPrimitive(v)) return w.push(nativeInArray(v));
  if (Array.isArray(v)) return writeArray(w, v);
  w.push('{');
  let first = true;
  for (const k of Object.keys(v as object)) {
    const item = (v as Record<string, unknown>)[k];
    if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
    w.push(`${first ? '' : ','}${JSON.stringify(k)}:`);
    first = false;
    await write(w, item, k);
  }
  w.push('}');
}

async function writeArray(w: Writer, a: readonly unknown[]): Promise<void> {
  w.push('[');
  const n = a.length;
  for (let i = 0; i < n; ) {
    if (isPrimitive(a[i])) {
      // PERF: a run of plain values (bucket times, values) is serialised natively in slices.
      let end = i + 1;
      while (end < n && end - i < PRIMITIVE_SLICE && isPrimitive(a[end])) end++;
      const s = JSON.stringify(a.slice(i, end));
      w.push(`${i ? ',' : ''}${s.slice(1, -1)}`);
      i = end;
    } else if (n >= ROW_ARRAY_MIN) {
      w.push(`${i ? ',' : ''}${nativeInArray(a[i])}`);
      i++;
    } else {
      if (i) w.push(',');
      await write(w, a[i], String(i));
      i++;
    }
    const p = w.pause();
    if (p) await p;
  }
  w.push(']');
}

/**
 * The JSON text of `value`, as JSON.stringify writes it, built in slices that yield to the event
 * loop; throws {@link ResponseTooLargeError} as soon as it exceeds `maxBytes` (UTF-8).
 */
export async function stringifyBounded(value: unknown, maxBytes: number): Promise<string> {
  const w = new Writer(maxBytes);
  await write(w, value, '');
  return w.parts.join('');
}
