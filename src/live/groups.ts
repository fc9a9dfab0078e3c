import { and, asc, eq, gt, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../storage/db';
import { liveGroupMembers, liveGroupOffsets } from '../storage/schema/index';

/** The group every consumer joins when it names none (as in EnOS). */
export const DEFAULT_CONSUMER_GROUP = 'DefaultConsumerGroup';
/** How often a group consumer heartbeats and re-reads the group's membership. */
export const GROUP_HEARTBEAT_MS = 1_000;
/** A member without a heartbeat for this long has left the group. */
export const GROUP_MEMBER_TTL_MS = 5_000;

/** Committed offsets of a group, by partition. */
export async function getCommittedOffsets(db: DbOrTx, jobId: string, group: string): Promise<Map<number, number>> {
  const rows = await db.select({ p: liveGroupOffsets.partition, o: liveGroupOffsets.committedOffset }).from(liveGroupOffsets).where(and(eq(liveGroupOffsets.jobId, jobId), eq(liveGroupOffsets.groupName, group)));
  return new Map(rows.map((r) => [r.p, Number(r.o)]));
}

/** Starts a new group's partitions at `offset` (the live head); existing offsets stay. */
export async function initGroupOffsets(db: DbOrTx, jobId: string, group: string, partitions: number, offset: number): Promise<void> {
  const values = Array.from({ length: partitions }, (_, p) => ({ jobId, groupName: group, partition: p, committedOffset: offset }));
  await db.insert(liveGroupOffsets).values(values).onConflictDoNothing();
}

/** Commits `offset` for `partitions` of a group; offsets only move forward. */
export function commitOffsets(db: DbOrTx, jobId: string, group: string, partitions: readonly number[], offset: number): Promise<void> {
  return upsertOffsets(db, jobId, group, partitions, offset, sql`greatest(${liveGroupOffsets.committedOffset}, excluded.committed_offset)`);
}

/** Sets `partitions` of a group to `offset`, backwards too (resetting a group). */
export function setGroupOffsets(db: DbOrTx, jobId: string, group: string, partitions: readonly number[], offset: number): Promise<void> {
  return upsertOffsets(db, jobId, group, partitions, offset, sql`excluded.committed_offset`);
}

/** Writes `offset` for `partitions` of a group; an existing row takes `committed` (an SQL expression). */
async function upsertOffsets(db: DbOrTx, jobId: string, group: string, partitions: readonly number[], offset: number, committed: SQL): Promise<void> {
  if (!partitions.length) return;
  const values = partitions.map((p) => ({ jobId, groupName: group, partition: p, committedOffset: offset }));
  await db
    .insert(liveGroupOffsets)
    .values(values)
    .onConflictDoUpdate({
      target: [liveGroupOffsets.jobId, liveGroupOffsets.groupName, liveGroupOffsets.partition],
      set: { committedOffset: committed, updatedAt: new Date() },
    });
}

/** The number of members of a group with a recent heartbeat (on any instance). */
export async function countLiveMembers(db: DbOrTx, jobId: string, group: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(liveGroupMembers)
    .where(and(eq(liveGroupMembers.jobId, jobId), eq(liveGroupMembers.groupName, group), gt(liveGroupMembers.heartbeatAt, sql`now() - make_interval(secs => ${GROUP_MEMBER_TTL_MS / 1000})`)));
  return Number(row?.n ?? 0);
}

/** Records a member's heartbeat (joining if needed) and returns the group's live members, sorted. */
export async function heartbeatMember(db: DbOrTx, jobId: string, group: string, memberId: string): Promise<string[]> {
  await db
    .insert(liveGroupMembers)
    .values({ memberId, jobId, groupName: group })
    .onConflictDoUpdate({ target: liveGroupMembers.memberId, set: { heartbeatAt: sql`now()` } });
  const rows = await db
    .select({ m: liveGroupMembers.memberId })
    .from(liveGroupMembers)
    .where(and(eq(liveGroupMembers.jobId, jobId), eq(liveGroupMembers.groupName, group), gt(liveGroupMembers.heartbeatAt, sql`now() - make_interval(secs => ${GROUP_MEMBER_TTL_MS / 1000})`)))
    .orderBy(asc(liveGroupMembers.memberId));
  return rows.map((r) => r.m);
}

/** Leaves a group (its partitions move to the others at their next heartbeat). */
export async function leaveGroup(db: DbOrTx, memberId: string): Promise<void> {
  await db.delete(liveGroupMembers).where(eq(liveGroupMembers.memberId, memberId));
}

/** Round-robin assignment: partition p goes to the (p mod n)-th member in id order. */
export function assignPartitions(members: readonly string[], memberId: string, partitions: number): number[] {
  const i = members.indexOf(memberId);
  if (i < 0) return [];
  const out: number[] = [];
  for (let p = 0; p < partitions; p++) if (p % members.length === i) out.push(p);
  return out;
}
