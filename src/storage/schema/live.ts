import { bigint, bigserial, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { organisations } from './registry';

/**
 * The durable message log behind live subscriptions (what Kafka topics are in EnOS). One row
 * per committed ingest batch, appended inside the ingest transaction, so that a message exists
 * iff its data committed. `log_offset` follows commit order (appends are serialised by an
 * advisory lock; see src/live/log.ts). Rows older than REPLAY_WINDOW_S are pruned.
 */
export const liveMessages = pgTable(
  'live_messages',
  {
    logOffset: bigserial('log_offset', { mode: 'number' }).primaryKey(),
    orgId: text('org_id').notNull(),
    /** REALTIME | OFFLINE */
    channel: text('channel').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** The batch in the compact form of src/live/message.ts. */
    payload: jsonb('payload').notNull(),
  },
  (t) => [index('live_messages_org_offset').on(t.orgId, t.logOffset), index('live_messages_created').on(t.createdAt)],
);

/**
 * The transactional outbox of the NATS JetStream stream backend (NATS_URL): one row per committed
 * ingest batch, written inside the ingest transaction, relayed to JetStream by any instance and
 * deleted once JetStream acknowledged it (src/live/nats/outbox.ts). Empty without NATS_URL.
 */
export const liveOutbox = pgTable('live_outbox', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  orgId: text('org_id').notNull(),
  /** REALTIME | OFFLINE */
  channel: text('channel').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  /**
   * The batch in the compact form of src/live/message.ts, as JSON text: kept only until JetStream
   * stored it, so neither parsed into jsonb nor compressed (STORAGE EXTERNAL, set by the migration).
   */
  payload: text('payload').notNull(),
});

/** Single-row bookkeeping of the log: the highest offset removed by retention. */
export const liveLogState = pgTable('live_log_state', {
  id: integer('id').primaryKey(),
  prunedThrough: bigint('pruned_through', { mode: 'number' }).notNull().default(0),
});

/** Subscription jobs: named, saved filters of an organisation (EnOS data-subscription jobs). */
export const liveJobs = pgTable(
  'live_jobs',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => organisations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** MEASURE_POINTS | ATTRIBUTES | EVENTS | FILES */
    kind: text('kind').notNull(),
    /** The LiveFilter input, as given. */
    filter: jsonb('filter').notNull(),
    partitions: integer('partitions').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('live_jobs_org_name').on(t.orgId, t.name)],
);

/** Committed offsets of consumer groups, per job partition. */
export const liveGroupOffsets = pgTable(
  'live_group_offsets',
  {
    jobId: text('job_id').notNull().references(() => liveJobs.id, { onDelete: 'cascade' }),
    groupName: text('group_name').notNull(),
    partition: integer('partition').notNull(),
    committedOffset: bigint('committed_offset', { mode: 'number' }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.groupName, t.partition] })],
);

/** Live consumers of a group, across instances; partitions are shared among fresh members. */
export const liveGroupMembers = pgTable(
  'live_group_members',
  {
    memberId: text('member_id').primaryKey(),
    jobId: text('job_id').notNull().references(() => liveJobs.id, { onDelete: 'cascade' }),
    groupName: text('group_name').notNull(),
    heartbeatAt: timestamp('heartbeat_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('live_group_members_group').on(t.jobId, t.groupName)],
);
