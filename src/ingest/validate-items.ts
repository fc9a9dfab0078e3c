import type { Member, TypeSpec } from '../model/type-spec';
import { FLOAT_MAX, splitQuality, validateValue, type FileRef, type NormalValue } from '../model/validate-value';
import type { ItemError } from './item-errors';
import type { CompiledModel } from './model-cache';
import type { IngestDevice } from './resolve-devices';
import type { AttributeRecord, EventRecord, PointRecord, RecordDevice } from './types';

/** What kind of data a request carries. */
export type IngestKind = 'points' | 'attributes' | 'events';

/** A FILE reference of a valid item, with the feature that owns it. */
export interface ItemFileRef extends FileRef {
  readonly featureId: number;
  readonly identifier: string;
}

/** A valid item's records (before `local://` references are replaced by stored URIs). */
export interface ValidItem {
  readonly index: number;
  readonly device: IngestDevice;
  readonly points: PointRecord[];
  readonly events: EventRecord[];
  readonly attributes: AttributeRecord[];
  readonly fileRefs: ItemFileRef[];
}

/** One raw item as GraphQL (or the REST shim) delivers it. */
export interface RawItem {
  readonly time?: number | null | undefined;
  readonly values?: unknown;
  readonly events?: unknown;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function recordDevice(d: IngestDevice): RecordDevice {
  return { deviceId: d.id, assetId: d.assetId, productKey: d.productKey, modelId: d.modelId };
}

/** The spec an event's output parameters form: a STRUCT of them. */
export function eventParamsSpec(outputData: readonly Member[]): TypeSpec {
  return { dataType: 'STRUCT', members: outputData };
}

/**
 * `n` as a FLOAT/DOUBLE point stores it, when no check can fail (finite, within the FLOAT range
 * and the spec's bounds); undefined sends the value down the general path of validateValue,
 * which then reports the problem exactly as before.
 */
function plainNumber(spec: TypeSpec, n: number): number | undefined {
  if (spec.dataType !== 'DOUBLE' && spec.dataType !== 'FLOAT') return undefined;
  if (!Number.isFinite(n) || (spec.dataType === 'FLOAT' && Math.abs(n) > FLOAT_MAX)) return undefined;
  if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) return undefined;
  return n;
}

/**
 * Validates one item against its device's model. Any bad value refuses the whole item (its
 * first problem is reported); `now` is the time of attribute values.
 */
export function validateItem(kind: IngestKind, index: number, item: RawItem, device: IngestDevice, model: CompiledModel, now: number): ValidItem | ItemError {
  const bad = (code: ItemError['code'], identifier: string | null, reason: string): ItemError => ({ index, identifier, code, reason });
  const out: ValidItem = { index, device, points: [], events: [], attributes: [], fileRefs: [] };
  const dev = recordDevice(device);
  const map = kind === 'events' ? item.events : item.values;
  if (!isPlainObject(map)) return bad('BAD_ITEM', null, `${kind === 'events' ? 'events' : 'values'} must be an object keyed by identifier`);
  const time = item.time;
  if (kind !== 'attributes' && (typeof time !== 'number' || !Number.isSafeInteger(time) || time < 0)) return bad('BAD_ITEM', null, 'time must be epoch milliseconds');
  for (const [identifier, raw] of Object.entries(map)) {
    if (kind === 'points') {
      const f = model.points.get(identifier);
      if (!f?.type) return bad('UNKNOWN_IDENTIFIER', identifier, `the model has no measurement point ${identifier}`);
      // PERF: the common case (a plain in-range number for a FLOAT/DOUBLE point) skips the general
      // checker and its result objects; anything else takes the general path below.
      const fast = typeof raw === 'number' ? plainNumber(f.type, raw) : undefined;
      if (fast !== undefined) {
        out.points.push({ deviceId: dev.deviceId, assetId: dev.assetId, productKey: dev.productKey, modelId: dev.modelId, pointId: f.id, identifier, dataType: f.type.dataType, time: time!, value: fast, quality: null });
        continue;
      }
      const q = splitQuality(raw, f.hasQuality, identifier);
      if ('error' in q) return bad('TYPE_MISMATCH', identifier, q.error);
      const r = validateValue(f.type, q.value, identifier);
      if (!r.ok) return bad('TYPE_MISMATCH', identifier, `${r.path}: ${r.reason}`);
      out.points.push({ ...dev, pointId: f.id, identifier, dataType: f.type.dataType, time: time!, value: r.value, quality: q.quality });
      for (const ref of r.files) out.fileRefs.push({ ...ref, featureId: f.id, identifier });
    } else if (kind === 'attributes') {
      const f = model.attributes.get(identifier);
      if (!f?.type) return bad('UNKNOWN_IDENTIFIER', identifier, `the model has no attribute ${identifier}`);
      const r = validateValue(f.type, raw, identifier);
      if (!r.ok) return bad('TYPE_MISMATCH', identifier, `${r.path}: ${r.reason}`);
      out.attributes.push({ ...dev, attributeId: f.id, identifier, time: now, value: r.value });
      for (const ref of r.files) out.fileRefs.push({ ...ref, featureId: f.id, identifier });
    } else {
      const f = model.events.get(identifier);
      if (!f) return bad('UNKNOWN_IDENTIFIER', identifier, `the model has no event ${identifier}`);
      const r = validateValue(eventParamsSpec(f.outputData), raw ?? {}, identifier);
      if (!r.ok) return bad('TYPE_MISMATCH', identifier, `${r.path}: ${r.reason}`);
      out.events.push({ ...dev, eventId: f.id, identifier, level: f.level ?? 'INFO', time: time!, params: r.value as { [k: string]: NormalValue } });
      for (const ref of r.files) out.fileRefs.push({ ...ref, featureId: f.id, identifier });
    }
  }
  if (out.points.length + out.attributes.length + out.events.length === 0) return bad('BAD_ITEM', null, 'the item carries no values');
  return out;
}

/** Rewrites every FILE value of `value` (typed by `spec`) with `fn`. */
export function mapFileValues(spec: TypeSpec, value: NormalValue, fn: (ref: string) => string): NormalValue {
  switch (spec.dataType) {
    case 'FILE':
      return typeof value === 'string' ? fn(value) : value;
    case 'STRUCT': {
      if (!isPlainObject(value)) return value;
      const out: Record<string, NormalValue> = {};
      const members = new Map((spec.members ?? []).map((m) => [m.identifier, m.type]));
      for (const [k, v] of Object.entries(value as Record<string, NormalValue>)) {
        const t = members.get(k);
        out[k] = t ? mapFileValues(t, v, fn) : v;
      }
      return out;
    }
    case 'ARRAY':
      return Array.isArray(value) && spec.item ? value.map((v) => mapFileValues(spec.item!, v, fn)) : value;
    default:
      return value;
  }
}
