import type { TypeSpec } from './type-spec';

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;
/** The largest magnitude a FLOAT (32-bit) value may have. */
export const FLOAT_MAX = 3.4028234663852886e38;
/** Quality is a small non-negative integer (EnOS uses 0-9; OPC-style codes up to 32767 fit). */
export const QUALITY_MAX = 32767;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const NUMERIC_RE = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/** A reference to a file inside a value: `local://name` (this request) or an existing URI. */
export interface FileRef {
  readonly kind: 'local' | 'uri';
  readonly name: string;
  /** Path of the value inside the feature, for error messages. */
  readonly path: string;
}

/** A value that conforms to its type, normalised (numeric strings parsed, booleans as booleans). */
export type NormalValue = number | boolean | string | null | readonly NormalValue[] | { readonly [k: string]: NormalValue };

/** Result of {@link validateValue}. */
export type ValueCheck = { readonly ok: true; readonly value: NormalValue; readonly files: readonly FileRef[] } | { readonly ok: false; readonly path: string; readonly reason: string };

class Mismatch {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {}
}

/**
 * Checks `value` against `spec` and normalises it. `path` names the value in error messages
 * (the feature identifier). FILE values are collected in `files` for the caller to resolve.
 */
export function validateValue(spec: TypeSpec, value: unknown, path: string): ValueCheck {
  const files: FileRef[] = [];
  try {
    return { ok: true, value: check(spec, value, path, files), files };
  } catch (e) {
    if (e instanceof Mismatch) return { ok: false, path: e.path, reason: e.reason };
    throw e;
  }
}

function toNumber(v: unknown, path: string, what: string): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Mismatch(path, `${what} must be a finite number`);
    return v;
  }
  if (typeof v === 'string' && NUMERIC_RE.test(v.trim())) return Number(v.trim());
  throw new Mismatch(path, `expected ${what}, got ${describe(v)}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

function bounds(spec: TypeSpec, n: number, path: string): void {
  if (spec.min !== undefined && n < spec.min) throw new Mismatch(path, `${n} is below the minimum ${spec.min}`);
  if (spec.max !== undefined && n > spec.max) throw new Mismatch(path, `${n} is above the maximum ${spec.max}`);
}

function check(spec: TypeSpec, v: unknown, path: string, files: FileRef[]): NormalValue {
  if (v === null || v === undefined) throw new Mismatch(path, 'a value is required (null is not allowed)');
  switch (spec.dataType) {
    case 'INT': {
      const n = toNumber(v, path, 'an INT');
      if (!Number.isInteger(n)) throw new Mismatch(path, `expected an INT, got ${n}`);
      if (n < INT_MIN || n > INT_MAX) throw new Mismatch(path, `${n} is outside the 32-bit INT range`);
      bounds(spec, n, path);
      return n;
    }
    case 'FLOAT': {
      const n = toNumber(v, path, 'a FLOAT');
      if (Math.abs(n) > FLOAT_MAX) throw new Mismatch(path, `${n} is outside the FLOAT range`);
      bounds(spec, n, path);
      return n;
    }
    case 'DOUBLE': {
      const n = toNumber(v, path, 'a DOUBLE');
      bounds(spec, n, path);
      return n;
    }
    case 'BOOL': {
      if (v === true || v === 1 || v === 'true' || v === '1') return true;
      if (v === false || v === 0 || v === 'false' || v === '0') return false;
      throw new Mismatch(path, `expected a BOOL (true/false or 0/1), got ${describe(v)}`);
    }
    case 'ENUM': {
      const key = typeof v === 'number' && Number.isInteger(v) ? String(v) : typeof v === 'string' ? v : undefined;
      if (key === undefined || !spec.enumValues?.some((e) => e.key === key)) {
        throw new Mismatch(path, `${describe(v)} is not one of the ENUM keys ${(spec.enumValues ?? []).map((e) => e.key).join(', ')}`);
      }
      return spec.enumType === 'STRING' ? key : Number(key);
    }
    case 'STRING': {
      if (typeof v !== 'string') throw new Mismatch(path, `expected a STRING, got ${describe(v)}`);
      const len = [...v].length;
      const max = spec.maxLength ?? 1024;
      if (len > max) throw new Mismatch(path, `STRING of ${len} characters exceeds maxLength ${max}`);
      return v;
    }
    case 'DATE': {
      if (typeof v !== 'string') throw new Mismatch(path, `expected a DATE "yyyy-MM-dd HH:mm:ss", got ${describe(v)}`);
      const m = DATE_RE.exec(v);
      if (!m) throw new Mismatch(path, `expected a DATE "yyyy-MM-dd HH:mm:ss", got ${describe(v)}`);
      const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
      const dt = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
      if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== mo - 1 || dt.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
        throw new Mismatch(path, `${v} is not a valid calendar date and time`);
      }
      return v;
    }
    case 'TIMESTAMP': {
      const n = toNumber(v, path, 'a TIMESTAMP (epoch milliseconds)');
      if (!Number.isInteger(n) || n < 0 || n > 253402300799999) throw new Mismatch(path, `${n} is not a valid epoch-millisecond TIMESTAMP`);
      return n;
    }
    case 'STRUCT': {
      if (typeof v !== 'object' || Array.isArray(v)) throw new Mismatch(path, `expected a STRUCT object, got ${describe(v)}`);
      const obj = v as Record<string, unknown>;
      const members = spec.members ?? [];
      const known = new Set(members.map((m) => m.identifier));
      for (const k of Object.keys(obj)) if (!known.has(k)) throw new Mismatch(`${path}.${k}`, `unknown STRUCT member "${k}"`);
      const out: Record<string, NormalValue> = {};
      for (const m of members) {
        if (!(m.identifier in obj) || obj[m.identifier] === null) {
          if (m.required) throw new Mismatch(`${path}.${m.identifier}`, 'required STRUCT member is missing');
          continue;
        }
        out[m.identifier] = check(m.type, obj[m.identifier], `${path}.${m.identifier}`, files);
      }
      return out;
    }
    case 'ARRAY': {
      if (!Array.isArray(v)) throw new Mismatch(path, `expected an ARRAY, got ${describe(v)}`);
      const max = spec.maxItems ?? 1024;
      if (v.length > max) throw new Mismatch(path, `ARRAY of ${v.length} items exceeds ${max}`);
      const item = spec.item;
      if (!item) throw new Mismatch(path, 'ARRAY has no item type in the model');
      return v.map((x, i) => check(item, x, `${path}[${i}]`, files));
    }
    case 'FILE': {
      if (typeof v !== 'string') throw new Mismatch(path, `expected a FILE reference, got ${describe(v)}`);
      if (v.startsWith('local://')) {
        const name = v.slice('local://'.length);
        if (!name) throw new Mismatch(path, 'empty local:// file reference');
        files.push({ kind: 'local', name, path });
        return v;
      }
      if (v.startsWith('enos-connect://')) {
        files.push({ kind: 'uri', name: v, path });
        return v;
      }
      throw new Mismatch(path, `expected local://<file> or enos-connect://<file>, got ${describe(v)}`);
    }
    default: {
      const never: never = spec.dataType;
      throw new Mismatch(path, `unsupported type ${String(never)}`);
    }
  }
}

/** Splits a `{value, quality}` wrapper for points that have quality. */
export function splitQuality(v: unknown, hasQuality: boolean, path: string): { value: unknown; quality: number | null } | { error: string } {
  const isWrapper = typeof v === 'object' && v !== null && !Array.isArray(v) && 'value' in v && 'quality' in v && Object.keys(v).length === 2;
  if (!isWrapper) return { value: v, quality: null };
  if (!hasQuality) return { error: `${path}: the point has no quality, but {value, quality} was sent` };
  const q = (v as { quality: unknown }).quality;
  const qn = typeof q === 'string' && /^\d+$/.test(q) ? Number(q) : q;
  if (typeof qn !== 'number' || !Number.isInteger(qn) || qn < 0 || qn > QUALITY_MAX) return { error: `${path}: quality must be an integer 0-${QUALITY_MAX}` };
  return { value: (v as { value: unknown }).value, quality: qn };
}
