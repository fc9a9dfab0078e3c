import { createRequire } from 'node:module';
import type busboy from 'busboy';

/** A part's raw header map (lowercased names, values in order). */
export type PartHeaders = Record<string, string[] | undefined>;

/** busboy's own Content-Disposition parser (not in its typings). */
const busboyUtils = createRequire(import.meta.url)('busboy/lib/utils.js') as {
  parseDisposition(value: string, decoder: unknown): { type: string; params: Record<string, string> } | undefined;
  getDecoder(charset: string): unknown;
};

/**
 * busboy parses the part headers but hands out only name, filename and type; the hex
 * `Content-MD5` of an `enos-file` part is in the raw header map. busboy assigns its header
 * parser to `_hparser` at the start of every part and calls the parser's `cb` synchronously
 * just before it emits `file`; wrapping that callback captures the map of the part being
 * emitted, without re-parsing anything ourselves.
 * NOTE: relies on busboy 1.x internals; test/rest covers it (a wrong Content-MD5 is refused).
 */
export function capturePartHeaders(bb: busboy.Busboy): { current: PartHeaders | undefined } {
  const box: { current: PartHeaders | undefined } = { current: undefined };
  const target = bb as unknown as Record<string, unknown>;
  let parser: unknown = target['_hparser'];
  const wrapped = new WeakSet<object>();
  Object.defineProperty(target, '_hparser', {
    configurable: true,
    enumerable: true,
    get: () => parser,
    set: (v: unknown) => {
      const p = v as { cb?: (h: PartHeaders) => void } | null;
      if (p && typeof p === 'object' && typeof p.cb === 'function' && !wrapped.has(p)) {
        const cb = p.cb;
        p.cb = (h: PartHeaders) => {
          box.current = h;
          cb.call(p, h);
        };
        wrapped.add(p);
      }
      parser = v;
    },
  });
  return box;
}

/** Content-Disposition parameters of a part other than name and filename (e.g. `feature-id`). */
export function extraDispositionParams(partHeaders: PartHeaders | undefined): Record<string, string> {
  const raw = partHeaders?.['content-disposition']?.[0];
  const parsed = raw ? busboyUtils.parseDisposition(raw, busboyUtils.getDecoder('utf8')) : undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed?.params ?? {})) if (k !== 'name' && k !== 'filename' && k !== 'filename*') out[k] = v;
  return out;
}
