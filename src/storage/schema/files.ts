import { bigint, bigserial, customType, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { organisations } from './registry';

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

/**
 * Files attached to device data. A row starts `pending` while its bytes stream in and becomes
 * `committed` in the same transaction as the data that references it; pending rows older than
 * the upload deadline are removed by the janitor, so a failure leaves no orphan.
 */
export const files = pgTable(
  'files',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    orgId: text('org_id').notNull().references(() => organisations.id, { onDelete: 'cascade' }),
    deviceId: integer('device_id').notNull(),
    /** Feature (point, attribute or event) the file was posted for. */
    featureId: integer('feature_id'),
    /** Stable URI: enos-connect://<name>, characters limited to [A-Za-z0-9._~:/-]. */
    uri: text('uri').notNull(),
    fileName: text('file_name').notNull(),
    originalName: text('original_name').notNull(),
    contentType: text('content_type').notNull().default('application/octet-stream'),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
    md5: text('md5').notNull(),
    /** postgres | dir */
    store: text('store').notNull(),
    /** pending | committed */
    state: text('state').notNull().default('pending'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('files_uri').on(t.uri), index('files_device_created').on(t.deviceId, t.createdAt)],
);

/** File contents in PostgreSQL, in chunks of at most 1 MiB. */
export const fileChunks = pgTable(
  'file_chunks',
  {
    fileId: bigint('file_id', { mode: 'number' }).notNull().references(() => files.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    data: bytea('data').notNull(),
  },
  (t) => [primaryKey({ columns: [t.fileId, t.seq] })],
);
