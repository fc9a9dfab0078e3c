import type { Channel } from '../../ingest/types';
import type { NormalValue } from '../../model/validate-value';
import type { LiveDevice, LogMessage, RecordKeys } from '../message';

/** The `schema` field of every message body; a breaking change gets a new version. */
export const WIRE_SCHEMA = 'tributary.live.v1';
/** Header with the device's internal id (Tributary's own filters; external consumers can ignore it). */
export const DEVICE_ID_HEADER = 'Tributary-Device-Id';
/** Header with the device's model's internal id. */
export const MODEL_ID_HEADER = 'Tributary-Model-Id';

/** Header naming the ingest batch a message belongs to (the same on every device's message of it). */
export const BATCH_HEADER = 'Tributary-Batch';
/** Header `i/n`: this message is device i (from 0) of the batch's n. */
export const PART_HEADER = 'Tributary-Part';
/** JetStream's deduplication id, as the client sends it. */
export const MSG_ID_HEADER = 'Nats-Msg-Id';

const SAFE_TOKEN = /^[A-Za-z0-9_-]+$/;

/**
 * One subject token: letters, digits, `_` and `-` as they are; every other byte of the UTF-8 form
 * as `%XX` (so that `.`, `*`, `>` and spaces never reach a subject).
 */
export function encodeToken(s: string): string {
  if (SAFE_TOKEN.test(s)) return s;
  let out = '';
  for (const ch of s) {
    if (/[A-Za-z0-9_-]/.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The inverse of {@link encodeToken}. */
export function decodeToken(t: string): string {
  return t.includes('%') ? decodeURIComponent(t) : t;
}

/** The subject of one device's records: `<prefix>.<org>.<channel>.<productKey>.<deviceKey>`. */
export function subjectOf(prefix: string, orgId: string, channel: Channel, device: Pick<LiveDevice, 'productKey' | 'deviceKey'>): string {
  return `${prefix}.${encodeToken(orgId)}.${channel}.${encodeToken(device.productKey)}.${encodeToken(device.deviceKey)}`;
}

/** The organisation of a subject under `prefix` (null when the subject is not one of them). */
export function orgOfSubject(prefix: string, subject: string): string | null {
  if (!subject.startsWith(prefix + '.')) return null;
  const rest = subject.slice(prefix.length + 1);
  const dot = rest.indexOf('.');
  return decodeToken(dot < 0 ? rest : rest.slice(0, dot));
}

type Keys = Omit<RecordKeys, 'device'>;
/** The version-1 message body: what a GraphQL subscriber receives, without the offset (the stream sequence). */
export interface WireMessage {
  readonly schema: typeof WIRE_SCHEMA;
  readonly orgId: string;
  readonly channel: Channel;
  readonly points: readonly (Keys & { identifier: string; time: number; value: NormalValue; quality: number | null })[];
  readonly attributes: readonly (Keys & { identifier: string; time: number; value: NormalValue })[];
  readonly events: readonly (Keys & { identifier: string; level: string; time: number; params: NormalValue })[];
  readonly files: readonly (Keys & { op: 'CREATED' | 'DELETED'; uri: string; identifier: string | null; fileName: string; sizeBytes: number })[];
}

/** The body of one device's part of a message (see {@link WireMessage}). */
export function encodeWire(m: LogMessage): WireMessage {
  // PERF: field by field; object spreads cost several times as much per record.
  return {
    schema: WIRE_SCHEMA,
    orgId: m.orgId,
    channel: m.channel,
    points: m.points.map((r) => ({ assetId: r.assetId, productKey: r.productKey, deviceKey: r.deviceKey, modelId: r.modelId, identifier: r.identifier, time: r.time, value: r.value, quality: r.quality })),
    attributes: m.attributes.map((r) => ({ assetId: r.assetId, productKey: r.productKey, deviceKey: r.deviceKey, modelId: r.modelId, identifier: r.identifier, time: r.time, value: r.value })),
    events: m.events.map((r) => ({ assetId: r.assetId, productKey: r.productKey, deviceKey: r.deviceKey, modelId: r.modelId, identifier: r.identifier, level: r.level, time: r.time, params: r.params })),
    files: m.files.map((r) => ({ assetId: r.assetId, productKey: r.productKey, deviceKey: r.deviceKey, modelId: r.modelId, op: r.op, uri: r.uri, identifier: r.identifier, fileName: r.fileName, sizeBytes: r.sizeBytes })),
  };
}

/** A stored message back into the runtime's form; null when it is not a version-1 message. */
export function decodeWire(offset: number, body: unknown, deviceId: number, modelId: number): LogMessage | null {
  const w = body as Partial<WireMessage> | null;
  if (!w || w.schema !== WIRE_SCHEMA || typeof w.orgId !== 'string') return null;
  const first = w.points?.[0] ?? w.attributes?.[0] ?? w.events?.[0] ?? w.files?.[0];
  if (!first) return null;
  const device: LiveDevice = { deviceId, assetId: first.assetId, productKey: first.productKey, deviceKey: first.deviceKey, modelId, modelIdentifier: first.modelId };
  const { assetId, productKey, deviceKey, modelIdentifier } = device;
  return {
    offset,
    orgId: w.orgId,
    channel: w.channel === 'OFFLINE' ? 'OFFLINE' : 'REALTIME',
    points: (w.points ?? []).map((r) => ({ device, assetId, productKey, deviceKey, modelId: modelIdentifier, identifier: r.identifier, time: r.time, value: r.value, quality: r.quality })),
    attributes: (w.attributes ?? []).map((r) => ({ device, assetId, productKey, deviceKey, modelId: modelIdentifier, identifier: r.identifier, time: r.time, value: r.value })),
    events: (w.events ?? []).map((r) => ({ device, assetId, productKey, deviceKey, modelId: modelIdentifier, identifier: r.identifier, level: r.level, time: r.time, params: r.params })),
    files: (w.files ?? []).map((r) => ({ device, assetId, productKey, deviceKey, modelId: modelIdentifier, op: r.op, uri: r.uri, identifier: r.identifier, fileName: r.fileName, sizeBytes: r.sizeBytes })),
  };
}
