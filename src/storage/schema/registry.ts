import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgTable, serial, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/** Tenants. Every other row belongs to one organisation. */
export const organisations = pgTable('organisations', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  /**
   * Moves on every change to what names a device of the organisation or fixes its model (a
   * device's asset id, key or product; a product's key or model; a model's version; any of them
   * deleted), by triggers (drizzle/0004_registry_epoch_triggers.sql). A speculating read confirms
   * the devices it remembered with this one value (query/selection.ts).
   */
  registryEpoch: bigint('registry_epoch', { mode: 'number' }).notNull().default(0),
});

/** Thing models. `identifier` is EnOS's modelId, unique within an organisation. */
export const thingModels = pgTable(
  'thing_models',
  {
    id: serial('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => organisations.id, { onDelete: 'cascade' }),
    identifier: text('identifier').notNull(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    /** Increments on every change of the model or its features. */
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('thing_models_org_identifier').on(t.orgId, t.identifier)],
);

/**
 * Features of a model: attributes, measurement points, events, services. The serial `id` is the
 * integer surrogate key that time-series rows use for the point (or attribute, or event).
 */
export const modelFeatures = pgTable(
  'model_features',
  {
    id: serial('id').primaryKey(),
    modelId: integer('model_id').notNull().references(() => thingModels.id, { onDelete: 'cascade' }),
    /** ATTRIBUTE | MEASUREPOINT | EVENT | SERVICE */
    kind: text('kind').notNull(),
    identifier: text('identifier').notNull(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    /** Data type for attributes and points; null for events and services. */
    dataType: text('data_type'),
    /** Type definition: enum values, maxLength, struct members, array item type. */
    definition: jsonb('definition'),
    unit: text('unit'),
    hasQuality: boolean('has_quality').notNull().default(false),
    /** AI | DI | PI | GENERIC for measurement points. */
    signalType: text('signal_type'),
    /** INFO | WARN | ERROR for events. */
    eventLevel: text('event_level'),
    /** Event output parameters and service output data. */
    outputData: jsonb('output_data'),
    /** Service input data. */
    inputData: jsonb('input_data'),
    required: boolean('required').notNull().default(false),
    position: integer('position').notNull().default(0),
  },
  (t) => [uniqueIndex('model_features_model_kind_identifier').on(t.modelId, t.kind, t.identifier)],
);

/** Products bind a model; `productKey` is unique across the service, as in EnOS. */
export const products = pgTable(
  'products',
  {
    id: serial('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => organisations.id, { onDelete: 'cascade' }),
    productKey: text('product_key').notNull(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    modelId: integer('model_id').notNull().references(() => thingModels.id, { onDelete: 'restrict' }),
    /** JSON | CUSTOM */
    dataFormat: text('data_format').notNull().default('JSON'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('products_product_key').on(t.productKey), index('products_org_model').on(t.orgId, t.modelId)],
);

/** Devices. `id` is the integer surrogate used by every time-series row. */
export const devices = pgTable(
  'devices',
  {
    id: serial('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => organisations.id, { onDelete: 'cascade' }),
    productId: integer('product_id').notNull().references(() => products.id, { onDelete: 'restrict' }),
    deviceKey: text('device_key').notNull(),
    assetId: text('asset_id').notNull(),
    name: text('name').notNull(),
    timezone: text('timezone').notNull().default('+00:00'),
    description: text('description').notNull().default(''),
    tags: jsonb('tags').$type<Record<string, string>>().notNull().default(sql`'{}'::jsonb`),
    /** inactive | online | offline (disabled is derived from `enabled`). */
    status: text('status').notNull().default('inactive'),
    enabled: boolean('enabled').notNull().default(true),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    measurepointLastUpdate: timestamp('measurepoint_last_update', { withTimezone: true }),
    attributeLastUpdate: timestamp('attribute_last_update', { withTimezone: true }),
    eventLastUpdate: timestamp('event_last_update', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('devices_asset_id').on(t.assetId),
    uniqueIndex('devices_product_device_key').on(t.productId, t.deviceKey),
    index('devices_org_created').on(t.orgId, t.id),
    index('devices_tags').using('gin', t.tags),
  ],
);
