import type { NormalValue } from '../model/validate-value';
import type { DataType } from '../model/type-spec';

/** Real-time data moves latest values; offline (historical backfill) data never does. */
export type Channel = 'REALTIME' | 'OFFLINE';

/** Identity of the device a record belongs to (resolved and access-checked by ingest). */
export interface RecordDevice {
  readonly deviceId: number;
  readonly assetId: string;
  readonly productKey: string;
  readonly modelId: number;
}

/** One validated measurement-point value. */
export interface PointRecord extends RecordDevice {
  /** Surrogate id of the point (model_features.id). */
  readonly pointId: number;
  readonly identifier: string;
  readonly dataType: DataType;
  /** Epoch milliseconds. */
  readonly time: number;
  readonly value: NormalValue;
  readonly quality: number | null;
  /**
   * Set by the storage policies (a processor): `false` when the point keeps only its latest value
   * (no RAW form), so ingest must not write a `point_data` row for it, only `latest_values`.
   * Absent or `true`: store the history row as usual.
   */
  readonly history?: boolean;
}

/** One validated event. */
export interface EventRecord extends RecordDevice {
  readonly eventId: number;
  readonly identifier: string;
  readonly level: 'INFO' | 'WARN' | 'ERROR';
  readonly time: number;
  readonly params: { readonly [k: string]: NormalValue };
}

/** One validated attribute value. */
export interface AttributeRecord extends RecordDevice {
  readonly attributeId: number;
  readonly identifier: string;
  readonly time: number;
  readonly value: NormalValue;
}

/** A file stored with the batch (its row commits with the data). */
export interface FileRecord extends RecordDevice {
  readonly fileId: number;
  readonly uri: string;
  readonly featureId: number | null;
  readonly fileName: string;
  readonly sizeBytes: number;
}

/** Everything one ingest request writes, after validation. */
export interface IngestBatch {
  readonly orgId: string;
  readonly channel: Channel;
  readonly points: readonly PointRecord[];
  readonly events: readonly EventRecord[];
  readonly attributes: readonly AttributeRecord[];
  readonly files: readonly FileRecord[];
}
