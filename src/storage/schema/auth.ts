import { boolean, index, integer, jsonb, pgTable, serial, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { organisations } from './registry';

/** A grant: a permission, optionally limited to products and/or devices (by assetId). */
export interface GrantRow {
  readonly permission: string;
  readonly productKeys?: readonly string[];
  readonly assetIds?: readonly string[];
}

/** Service accounts. The secret is stored encrypted (AES-256-GCM) with the master key. */
export const serviceAccounts = pgTable(
  'service_accounts',
  {
    id: serial('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => organisations.id, { onDelete: 'cascade' }),
    accessKey: text('access_key').notNull(),
    name: text('name').notNull(),
    secretEnc: text('secret_enc').notNull(),
    grants: jsonb('grants').$type<GrantRow[]>().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    /** Bumped on disable, rotate and delete: tokens minted under an older epoch are dead. */
    epoch: integer('epoch').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('service_accounts_access_key').on(t.accessKey), index('service_accounts_org').on(t.orgId)],
);

/** Issued access tokens (only a SHA-256 of the token is stored). */
export const accessTokens = pgTable(
  'access_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    saId: integer('sa_id').notNull().references(() => serviceAccounts.id, { onDelete: 'cascade' }),
    epoch: integer('epoch').notNull(),
    /** The token itself, encrypted, so that a repeated get can return the same token. */
    tokenEnc: text('token_enc').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    /** Set when a refresh replaced this token; it stays valid for a short grace after. */
    replacedAt: timestamp('replaced_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('access_tokens_sa').on(t.saId, t.expiresAt)],
);

/** Token-request signatures seen recently, to refuse replays (EnOS code 1001). */
export const tokenNonces = pgTable('token_nonces', {
  encryption: text('encryption').primaryKey(),
  seenAt: timestamp('seen_at', { withTimezone: true }).notNull(),
});
