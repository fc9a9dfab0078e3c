import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, doublePrecision, index, integer, jsonb, pgTable, primaryKey, serial, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { modelFeatures, organisations, thingModels } from './registry';
import { valueColumns } from './timeseries';

/*
 * Data policies: how integrated values are processed, stored and computed.
 * Every policy row records the model version it was saved against; `model_policy_state`
 * holds a revision per model that each save bumps, so that every instance's policy cache
 * can check cheaply whether it is stale.
 */

/** Policy revision per model: bumped by every policy change, checked by the caches. */
export const modelPolicyState = pgTable('model_policy_state', {
  modelId: integer('model_id')
    .primaryKey()
    .references(() => thingModels.id, { onDelete: 'cascade' }),
  revision: integer('revision').notNull().default(1),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Processing policy of one measurement point: ordered steps applied before storage. */
export const processingPolicies = pgTable('processing_policies', {
  pointId: integer('point_id')
    .primaryKey()
    .references(() => modelFeatures.id, { onDelete: 'cascade' }),
  orgId: text('org_id')
    .notNull()
    .references(() => organisations.id, { onDelete: 'cascade' }),
  modelId: integer('model_id')
    .notNull()
    .references(() => thingModels.id, { onDelete: 'cascade' }),
  modelVersion: integer('model_version').notNull(),
  /** ProcessingStep[] (see src/policies/types.ts). */
  steps: jsonb('steps').notNull(),
  /** Keep every value as received (before the steps) in `point_raw_values`. */
  keepRaw: boolean('keep_raw').notNull().default(false),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Storage policy: which forms are stored and for how long, for a group of points of one model.
 * A policy without points (`is_model_default`) applies to every point of the model not listed
 * in another of its policies.
 */
export const storagePolicies = pgTable(
  'storage_policies',
  {
    id: serial('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organisations.id, { onDelete: 'cascade' }),
    modelId: integer('model_id')
      .notNull()
      .references(() => thingModels.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    isModelDefault: boolean('is_model_default').notNull().default(false),
    modelVersion: integer('model_version').notNull(),
    /** StorageFormSpec[]: `{form, retentionDays}`; empty means latest value only. */
    forms: jsonb('forms').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('storage_policies_model_name').on(t.modelId, t.name)],
);

/** Points listed in a storage policy; a point belongs to at most one policy. */
export const storagePolicyPoints = pgTable(
  'storage_policy_points',
  {
    pointId: integer('point_id')
      .primaryKey()
      .references(() => modelFeatures.id, { onDelete: 'cascade' }),
    policyId: integer('policy_id')
      .notNull()
      .references(() => storagePolicies.id, { onDelete: 'cascade' }),
  },
  (t) => [index('storage_policy_points_policy').on(t.policyId)],
);

/**
 * Since when the rollups of a point are complete: set when a rollup form is first enabled for it
 * (later than the save by the cache TTL, so that every instance maintains them by then). The
 * aggregate query reads rollups only for ranges starting at or after this time.
 */
export const rollupCoverage = pgTable(
  'rollup_coverage',
  {
    pointId: integer('point_id')
      .notNull()
      .references(() => modelFeatures.id, { onDelete: 'cascade' }),
    /** ROLLUP_1M | ROLLUP_1H | ROLLUP_1D */
    form: text('form').notNull(),
    since: timestamp('since', { withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.pointId, t.form] })],
);

/** A measurement point computed from others of the same device (expression or window). */
export const computedPoints = pgTable(
  'computed_points',
  {
    pointId: integer('point_id')
      .primaryKey()
      .references(() => modelFeatures.id, { onDelete: 'cascade' }),
    orgId: text('org_id')
      .notNull()
      .references(() => organisations.id, { onDelete: 'cascade' }),
    modelId: integer('model_id')
      .notNull()
      .references(() => thingModels.id, { onDelete: 'cascade' }),
    modelVersion: integer('model_version').notNull(),
    /** EXPRESSION | WINDOW */
    kind: text('kind').notNull(),
    expression: text('expression'),
    /** WINDOW: the source point, the function (AVG, MIN, ...) and the window size. */
    sourcePointId: integer('source_point_id').references(() => modelFeatures.id, { onDelete: 'cascade' }),
    windowFunction: text('window_function'),
    windowS: integer('window_s'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('computed_points_model').on(t.modelId)],
);

/** Values as received, before processing, for points whose processing policy has `keepRaw`. */
export const pointRawValues = pgTable(
  'point_raw_values',
  {
    time: timestamp('time', { withTimezone: true, precision: 3 }).notNull(),
    deviceId: integer('device_id').notNull(),
    pointId: integer('point_id').notNull(),
    ...valueColumns(),
    ingestedAt: timestamp('ingested_at', { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.pointId, t.time] }), index('point_raw_values_time').on(t.time)],
);

/** NORMALIZED_1M: one value per minute, the last received within that minute (EnOS AI normalized). */
export const pointNormalized1m = pgTable(
  'point_normalized_1m',
  {
    /** Start of the minute. */
    time: timestamp('time', { withTimezone: true, precision: 3 }).notNull(),
    deviceId: integer('device_id').notNull(),
    pointId: integer('point_id').notNull(),
    ...valueColumns(),
    /** Time of the value kept (the last one in the minute). */
    sourceTime: timestamp('source_time', { withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.pointId, t.time] }), index('point_normalized_1m_time').on(t.time)],
);

const rollupColumns = () => ({
  /** Start of the bucket. */
  bucket: timestamp('bucket', { withTimezone: true, precision: 3 }).notNull(),
  deviceId: integer('device_id').notNull(),
  pointId: integer('point_id').notNull(),
  count: integer('count').notNull(),
  sum: doublePrecision('sum').notNull(),
  min: doublePrecision('min').notNull(),
  max: doublePrecision('max').notNull(),
  firstTime: timestamp('first_time', { withTimezone: true, precision: 3 }).notNull(),
  firstValue: doublePrecision('first_value').notNull(),
  lastTime: timestamp('last_time', { withTimezone: true, precision: 3 }).notNull(),
  lastValue: doublePrecision('last_value').notNull(),
});

/** 1-minute rollups of numeric points. */
export const rollup1m = pgTable('rollup_1m', rollupColumns(), (t) => [primaryKey({ columns: [t.deviceId, t.pointId, t.bucket] }), index('rollup_1m_bucket').on(t.bucket)]);
/** 1-hour rollups of numeric points. */
export const rollup1h = pgTable('rollup_1h', rollupColumns(), (t) => [primaryKey({ columns: [t.deviceId, t.pointId, t.bucket] }), index('rollup_1h_bucket').on(t.bucket)]);
/** 1-day rollups of numeric points. */
export const rollup1d = pgTable('rollup_1d', rollupColumns(), (t) => [primaryKey({ columns: [t.deviceId, t.pointId, t.bucket] }), index('rollup_1d_bucket').on(t.bucket)]);

/**
 * Rollup deltas committed by ingest and not merged into the rollup tables yet
 * (policies/rollup-journal.ts): one row per ingest transaction and level, each column an array
 * with one element per (device, point, bucket). Times are epoch milliseconds; NULL elements of
 * `mins`, `maxs`, `first_values`, `last_times_ms` and `last_values` mean a bucket of one value
 * (read as the sum and the first time).
 */
export const rollupPending = pgTable('rollup_pending', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  /** ROLLUP_1M | ROLLUP_1H | ROLLUP_1D */
  level: text('level').notNull(),
  deviceIds: integer('device_ids').array().notNull(),
  pointIds: integer('point_ids').array().notNull(),
  bucketsMs: bigint('buckets_ms', { mode: 'number' }).array().notNull(),
  counts: integer('counts').array().notNull(),
  sums: doublePrecision('sums').array().notNull(),
  mins: doublePrecision('mins').array().notNull(),
  maxs: doublePrecision('maxs').array().notNull(),
  firstTimesMs: bigint('first_times_ms', { mode: 'number' }).array().notNull(),
  firstValues: doublePrecision('first_values').array().notNull(),
  lastTimesMs: bigint('last_times_ms', { mode: 'number' }).array().notNull(),
  lastValues: doublePrecision('last_values').array().notNull(),
});
