import type { Channel } from '../ingest/types';
import { matchesDevice, type CompiledFilter } from './filter';
import type { LiveAttribute, LiveDevice, LiveEvent, LiveFile, LivePoint, LogMessage } from './message';

/** What a subscription streams. */
export type LiveKind = 'MEASURE_POINTS' | 'ATTRIBUTES' | 'EVENTS' | 'FILES';
/** The kinds, for validation. */
export const LIVE_KINDS: readonly LiveKind[] = ['MEASURE_POINTS', 'ATTRIBUTES', 'EVENTS', 'FILES'];

/** One message as a subscriber receives it: the records of one committed batch that it selects. */
export interface LiveBatch {
  /** Log offset, a decimal string (64-bit). */
  readonly offset: string;
  readonly channel: Channel;
  /** For job consumers: the partitions this message completes (what to commit); null otherwise. */
  readonly partitions: readonly number[] | null;
  readonly points: readonly LivePoint[];
  readonly attributes: readonly LiveAttribute[];
  readonly events: readonly LiveEvent[];
  readonly files: readonly LiveFile[];
}

/** Partition filtering of a job consumer: a record's partition is its device id modulo `count`. */
export interface PartitionView {
  readonly count: number;
  /** Assigned partitions and, for each, the offset after which its records are new. */
  readonly floors: ReadonlyMap<number, number>;
}

/** What one subscriber selects. */
export interface Selection {
  readonly kind: LiveKind;
  readonly filter: CompiledFilter;
  readonly partitions: PartitionView | null;
}

function records(kind: LiveKind, m: LogMessage): readonly { readonly device: LiveDevice; readonly identifier: string | null }[] {
  switch (kind) {
    case 'MEASURE_POINTS':
      return m.points;
    case 'ATTRIBUTES':
      return m.attributes;
    case 'EVENTS':
      return m.events;
    case 'FILES':
      return m.files;
    default: {
      const never: never = kind;
      return never;
    }
  }
}

/** The device ids a message touches, for indexing subscribers by device. */
export function devicesOf(m: LogMessage): Set<number> {
  const s = new Set<number>();
  for (const list of [m.points, m.attributes, m.events, m.files]) for (const r of list) s.add(r.device.deviceId);
  return s;
}

/** The subscriber's view of a message, or null when nothing in it is selected. */
export function projectMessage(sel: Selection, m: LogMessage): LiveBatch | null {
  const f = sel.filter;
  if (f.channel && f.channel !== m.channel) return null;
  const all = records(sel.kind, m);
  if (!all.length) return null;
  const p = sel.partitions;
  const picked = all.filter((r) => {
    if (f.identifiers && (r.identifier === null || !f.identifiers.has(r.identifier))) return false;
    if (!matchesDevice(f, r.device)) return false;
    if (p) {
      const floor = p.floors.get(r.device.deviceId % p.count);
      if (floor === undefined || m.offset <= floor) return false;
    }
    return true;
  });
  if (!picked.length) return null;
  const partitions = p ? [...p.floors].filter(([, floor]) => floor < m.offset).map(([k]) => k).sort((a, b) => a - b) : null;
  const empty: never[] = [];
  return {
    offset: String(m.offset),
    channel: m.channel,
    partitions,
    points: sel.kind === 'MEASURE_POINTS' ? (picked as LivePoint[]) : empty,
    attributes: sel.kind === 'ATTRIBUTES' ? (picked as LiveAttribute[]) : empty,
    events: sel.kind === 'EVENTS' ? (picked as LiveEvent[]) : empty,
    files: sel.kind === 'FILES' ? (picked as LiveFile[]) : empty,
  };
}

/**
 * The message restricted to each of its devices (same offset), so that a subscriber of one
 * device scans only that device's records instead of the whole batch.
 */
export function splitByDevice(m: LogMessage): Map<number, LogMessage> {
  const out = new Map<number, { points: LivePoint[]; attributes: LiveAttribute[]; events: LiveEvent[]; files: LiveFile[] }>();
  const part = (d: number) => {
    let p = out.get(d);
    if (!p) out.set(d, (p = { points: [], attributes: [], events: [], files: [] }));
    return p;
  };
  for (const r of m.points) part(r.device.deviceId).points.push(r);
  for (const r of m.attributes) part(r.device.deviceId).attributes.push(r);
  for (const r of m.events) part(r.device.deviceId).events.push(r);
  for (const r of m.files) part(r.device.deviceId).files.push(r);
  return new Map([...out].map(([d, p]) => [d, { offset: m.offset, orgId: m.orgId, channel: m.channel, ...p }]));
}
