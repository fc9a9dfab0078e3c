import { bigint, bigserial, customType, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { organisations, products } from './registry';

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

/**
 * Firmware packages of a product, for OTA upgrades: devices download them by their URI with the
 * EnOS files API (`category=ota`). A row is `pending` while its bytes stream in and
 * `committed` once its checksum verified; the file janitor removes stale pending rows.
 */
export const firmwarePackages = pgTable(
  'firmware_packages',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    orgId: text('org_id').notNull().references(() => organisations.id, { onDelete: 'cascade' }),
    productId: integer('product_id').notNull().references(() => products.id, { onDelete: 'cascade' }),
    version: text('version').notNull(),
    /** Stable URI: enos-connect://<key>/<name>, characters limited to [A-Za-z0-9._~:/-]. */
    uri: text('uri').notNull(),
    fileName: text('file_name').notNull(),
    originalName: text('original_name').notNull(),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
    md5: text('md5').notNull(),
    /** pending | committed */
    state: text('state').notNull().default('pending'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('firmware_packages_uri').on(t.uri), uniqueIndex('firmware_packages_product_version').on(t.productId, t.version), index('firmware_packages_org').on(t.orgId)],
);

/** Firmware contents in PostgreSQL (every instance sees them), in chunks of at most 1 MiB, keyed like file_chunks. */
export const firmwareChunks = pgTable(
  'firmware_chunks',
  {
    fileId: bigint('file_id', { mode: 'number' }).notNull().references(() => firmwarePackages.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    data: bytea('data').notNull(),
  },
  (t) => [primaryKey({ columns: [t.fileId, t.seq] })],
);
