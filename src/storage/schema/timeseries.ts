import { sql } from 'drizzle-orm';
import { boolean, doublePrecision, index, integer, jsonb, pgTable, primaryKey, smallint, text, timestamp } from 'drizzle-orm/pg-core';

/*
 * Time-series tables: narrow rows keyed by integer surrogates (device id, feature id) and time.
 * The primary key is the natural key, so a re-sent (device, point, time) replaces its value.
 * On TimescaleDB they become hypertables (see storage/timescale.ts); elsewhere they stay plain
 * tables whose primary key doubles as the time index per series.
 *
 * Values are typed: numbers (INT, FLOAT, DOUBLE, TIMESTAMP, numeric ENUM) in `num`, BOOL in
 * `bool`, text (STRING, DATE, string ENUM, FILE uri) in `txt`, STRUCT and ARRAY in `json`.
 */
/** The typed value columns (and quality) shared by every table of point values. */
export const valueColumns = () => ({
  num: doublePrecision('num'),
  bool: boolean('bool'),
  txt: text('txt'),
  json: jsonb('json'),
  /** Quality as sent (0-9 in EnOS), null when the point has none. */
  quality: smallint('quality'),
});

/**
 * Measurement point history: the table that grows with every point, so a row holds only what
 * reads need. Its one index is the primary key, which serves every read (one series over a time
 * range) and the upsert; retention on TimescaleDB drops whole chunks.
 */
export const pointData = pgTable(
  'point_data',
  {
    time: timestamp('time', { withTimezone: true, precision: 3 }).notNull(),
    deviceId: integer('device_id').notNull(),
    pointId: integer('point_id').notNull(),
    ...valueColumns(),
    /**
     * true for offline (historical backfill) data, NULL for real-time data (read as false): a NULL
     * takes no space in the row, a false a padded byte. Rows written before that may hold false.
     */
    offline: boolean('offline'),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.pointId, t.time] })],
);

/** Latest value per device and point: moved only by newer real-time data. */
export const latestValues = pgTable(
  'latest_values',
  {
    deviceId: integer('device_id').notNull(),
    pointId: integer('point_id').notNull(),
    time: timestamp('time', { withTimezone: true, precision: 3 }).notNull(),
    ...valueColumns(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.pointId] })],
);

/** Events. */
export const eventData = pgTable(
  'event_data',
  {
    time: timestamp('time', { withTimezone: true, precision: 3 }).notNull(),
    deviceId: integer('device_id').notNull(),
    eventId: integer('event_id').notNull(),
    /** INFO | WARN | ERROR, copied from the model at ingest. */
    level: text('level').notNull(),
    params: jsonb('params').notNull(),
    offline: boolean('offline').notNull().default(false),
    ingestedAt: timestamp('ingested_at', { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.eventId, t.time] }), index('event_data_time').on(t.time)],
);

/** Current attribute values per device. */
export const attributeValues = pgTable(
  'attribute_values',
  {
    deviceId: integer('device_id').notNull(),
    attributeId: integer('attribute_id').notNull(),
    value: jsonb('value').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.attributeId] })],
);

/** Attribute change history. */
export const attributeHistory = pgTable(
  'attribute_history',
  {
    time: timestamp('time', { withTimezone: true, precision: 3 }).notNull(),
    deviceId: integer('device_id').notNull(),
    attributeId: integer('attribute_id').notNull(),
    value: jsonb('value').notNull(),
    /** Set when the change came from the registry rather than from ingest. */
    source: text('source').notNull().default('ingest'),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.attributeId, t.time] }), index('attribute_history_time').on(t.time)],
);

