import type { Channel, IngestBatch } from '../ingest/types';
import type { NormalValue } from '../model/validate-value';

/** The device a live record belongs to. */
export interface LiveDevice {
  readonly deviceId: number;
  readonly assetId: string;
  readonly productKey: string;
  readonly deviceKey: string;
  readonly modelId: number;
  readonly modelIdentifier: string;
}

/** Device fields repeated on every record, so that records serialise without resolvers. */
export interface RecordKeys {
  readonly device: LiveDevice;
  readonly assetId: string;
  readonly productKey: string;
  readonly deviceKey: string;
  /** The model identifier (EnOS modelId). */
  readonly modelId: string;
}

/** One measurement-point value of a live message. */
export interface LivePoint extends RecordKeys {
  readonly identifier: string;
  readonly time: number;
  readonly value: NormalValue;
  readonly quality: number | null;
}

/** One attribute value of a live message. */
export interface LiveAttribute extends RecordKeys {
  readonly identifier: string;
  readonly time: number;
  readonly value: NormalValue;
}

/** One event of a live message. */
export interface LiveEvent extends RecordKeys {
  readonly identifier: string;
  readonly level: string;
  readonly time: number;
  readonly params: NormalValue;
}

/** A file stored with a batch (op CREATED), or removed (DELETED). */
export interface LiveFile extends RecordKeys {
  readonly op: 'CREATED' | 'DELETED';
  readonly uri: string;
  readonly identifier: string | null;
  readonly fileName: string;
  readonly sizeBytes: number;
}

/** One message of the log: everything one committed ingest batch wrote. */
export interface LogMessage {
  readonly offset: number;
  readonly orgId: string;
  readonly channel: Channel;
  readonly points: readonly LivePoint[];
  readonly attributes: readonly LiveAttribute[];
  readonly events: readonly LiveEvent[];
  readonly files: readonly LiveFile[];
}

type DeviceTuple = [number, string, string, string, number, string];
/** The stored form: devices once, records as tuples referencing them by index (compact jsonb). */
export interface EncodedPayload {
  d: DeviceTuple[];
  p?: [number, string, number, NormalValue, number | null][];
  a?: [number, string, number, NormalValue][];
  e?: [number, string, string, number, NormalValue][];
  f?: [number, 'CREATED' | 'DELETED', string, string | null, string, number][];
}

/** Keys of devices that the batch records lack (deviceKey, model identifier). */
export interface DeviceKeys {
  readonly deviceKey: string;
  readonly modelIdentifier: string;
}

/**
 * Encodes a batch for the log. `keys` gives deviceKey and model identifier by device id;
 * `featureNames` the identifier of a file's feature id.
 */
export function encodeBatch(batch: IngestBatch, keys: ReadonlyMap<number, DeviceKeys>, featureNames: ReadonlyMap<number, string>): EncodedPayload {
  const index = new Map<number, number>();
  const d: DeviceTuple[] = [];
  const dev = (r: { deviceId: number; assetId: string; productKey: string; modelId: number }): number => {
    let i = index.get(r.deviceId);
    if (i === undefined) {
      const k = keys.get(r.deviceId);
      i = d.length;
      d.push([r.deviceId, r.assetId, r.productKey, k?.deviceKey ?? '', r.modelId, k?.modelIdentifier ?? '']);
      index.set(r.deviceId, i);
    }
    return i;
  };
  const out: EncodedPayload = { d };
  if (batch.points.length) out.p = batch.points.map((r) => [dev(r), r.identifier, r.time, r.value, r.quality]);
  if (batch.attributes.length) out.a = batch.attributes.map((r) => [dev(r), r.identifier, r.time, r.value]);
  if (batch.events.length) out.e = batch.events.map((r) => [dev(r), r.identifier, r.level, r.time, r.params as NormalValue]);
  if (batch.files.length) out.f = batch.files.map((r) => [dev(r), 'CREATED', r.uri, r.featureId === null ? null : (featureNames.get(r.featureId) ?? null), r.fileName, r.sizeBytes]);
  return out;
}

/** Decodes a stored row into a message (done once per row per instance, shared by subscribers). */
export function decodeMessage(offset: number, orgId: string, channel: string, payload: EncodedPayload): LogMessage {
  const devices: LiveDevice[] = payload.d.map(([deviceId, assetId, productKey, deviceKey, modelId, modelIdentifier]) => ({ deviceId, assetId, productKey, deviceKey, modelId, modelIdentifier }));
  const at = (i: number): LiveDevice => devices[i] as LiveDevice;
  // PERF: each record is written out field by field; an object spread of its keys cost several
  // times as much, for every record of every message an instance reads.
  return {
    offset,
    orgId,
    channel: channel === 'OFFLINE' ? 'OFFLINE' : 'REALTIME',
    points: (payload.p ?? []).map(([i, identifier, time, value, quality]) => {
      const d = at(i);
      return { device: d, assetId: d.assetId, productKey: d.productKey, deviceKey: d.deviceKey, modelId: d.modelIdentifier, identifier, time, value, quality };
    }),
    attributes: (payload.a ?? []).map(([i, identifier, time, value]) => {
      const d = at(i);
      return { device: d, assetId: d.assetId, productKey: d.productKey, deviceKey: d.deviceKey, modelId: d.modelIdentifier, identifier, time, value };
    }),
    events: (payload.e ?? []).map(([i, identifier, level, time, params]) => {
      const d = at(i);
      return { device: d, assetId: d.assetId, productKey: d.productKey, deviceKey: d.deviceKey, modelId: d.modelIdentifier, identifier, level, time, params };
    }),
    files: (payload.f ?? []).map(([i, op, uri, identifier, fileName, sizeBytes]) => {
      const d = at(i);
      return { device: d, assetId: d.assetId, productKey: d.productKey, deviceKey: d.deviceKey, modelId: d.modelIdentifier, op, uri, identifier, fileName, sizeBytes };
    }),
  };
}

/** Whether a batch has anything to log. */
export function isEmptyBatch(batch: IngestBatch): boolean {
  return !batch.points.length && !batch.attributes.length && !batch.events.length && !batch.files.length;
}
