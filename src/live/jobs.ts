import { randomBytes } from 'node:crypto';
import { and, asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { Access, type Caller } from '../auth/permissions';
import { badInput, conflict, notFound, translatePgError } from '../errors';
import type { DbOrTx } from '../storage/db';
import { liveJobs } from '../storage/schema/index';
import { compileFilter, liveFilterSchema, type LiveFilterInput } from './filter';
import { LIVE_KINDS, type LiveKind } from './project';

/** Most jobs per organisation. */
export const JOBS_PER_ORG_MAX = 100;
/** Partitions of a job when none is given (EnOS topics have 2). */
export const JOB_PARTITIONS_DEFAULT = 2;
/** Most partitions of a job. */
export const JOB_PARTITIONS_MAX = 64;

/** A saved subscription job. */
export interface LiveJob {
  readonly id: string;
  readonly orgId: string;
  readonly name: string;
  readonly kind: LiveKind;
  readonly filter: LiveFilterInput;
  readonly partitions: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

const jobInput = z.object({
  name: z.string().trim().min(1).max(128),
  kind: z.enum(LIVE_KINDS as [LiveKind, ...LiveKind[]]),
  filter: liveFilterSchema.nullish(),
  partitions: z.number().int().min(1).max(JOB_PARTITIONS_MAX).nullish(),
});

function parse<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const r = schema.safeParse(input);
  if (!r.success) throw badInput(`invalid job: ${r.error.issues[0]?.path.join('.')} ${r.error.issues[0]?.message}`);
  return r.data;
}

function toJob(r: typeof liveJobs.$inferSelect): LiveJob {
  return { ...r, kind: r.kind as LiveKind, filter: r.filter as LiveFilterInput };
}

/** Checks that the devices, products and models a filter names exist in the organisation. */
async function checkFilterNames(db: DbOrTx, caller: Caller, filter: LiveFilterInput): Promise<void> {
  // NOTE: a job belongs to the organisation, not to its creator's scope; each consumer's own
  // ASSET_READ scope is applied when it consumes.
  await compileFilter(db, new Access({ ...caller, grants: [{ permission: 'ASSET_READ' }] }), filter);
}

/** Creates a job. */
export async function createJob(db: DbOrTx, caller: Caller, input: unknown): Promise<LiveJob> {
  const v = parse(jobInput, input);
  const filter = v.filter ?? {};
  await checkFilterNames(db, caller, filter);
  const [n] = await db.select({ n: sql<number>`count(*)::int` }).from(liveJobs).where(eq(liveJobs.orgId, caller.orgId));
  if ((n?.n ?? 0) >= JOBS_PER_ORG_MAX) throw conflict(`an organisation has at most ${JOBS_PER_ORG_MAX} subscription jobs`);
  const id = `job-${randomBytes(8).toString('hex')}`;
  try {
    const [row] = await db.insert(liveJobs).values({ id, orgId: caller.orgId, name: v.name, kind: v.kind, filter, partitions: v.partitions ?? JOB_PARTITIONS_DEFAULT }).returning();
    return toJob(row!);
  } catch (e) {
    return translatePgError(e, `subscription job ${v.name}`);
  }
}

/** One job of the organisation, or NOT_FOUND. */
export async function getJob(db: DbOrTx, orgId: string, id: string): Promise<LiveJob> {
  const [row] = await db.select().from(liveJobs).where(and(eq(liveJobs.orgId, orgId), eq(liveJobs.id, id)));
  if (!row) throw notFound('subscription job', { id });
  return toJob(row);
}

/** The organisation's jobs by name. */
export async function listJobs(db: DbOrTx, orgId: string): Promise<LiveJob[]> {
  return (await db.select().from(liveJobs).where(eq(liveJobs.orgId, orgId)).orderBy(asc(liveJobs.name))).map(toJob);
}

/** Replaces a job's name, kind, filter (partitions are fixed once created). */
export async function updateJob(db: DbOrTx, caller: Caller, id: string, input: unknown): Promise<LiveJob> {
  const v = parse(jobInput.omit({ partitions: true }), input);
  const filter = v.filter ?? {};
  await checkFilterNames(db, caller, filter);
  try {
    const [row] = await db
      .update(liveJobs)
      .set({ name: v.name, kind: v.kind, filter, updatedAt: new Date() })
      .where(and(eq(liveJobs.orgId, caller.orgId), eq(liveJobs.id, id)))
      .returning();
    if (!row) throw notFound('subscription job', { id });
    return toJob(row);
  } catch (e) {
    return translatePgError(e, `subscription job ${v.name}`);
  }
}

/** Deletes a job with its consumer groups' offsets. */
export async function deleteJob(db: DbOrTx, orgId: string, id: string): Promise<boolean> {
  const rows = await db.delete(liveJobs).where(and(eq(liveJobs.orgId, orgId), eq(liveJobs.id, id))).returning({ id: liveJobs.id });
  if (!rows.length) throw notFound('subscription job', { id });
  return true;
}
