import type { Access } from '../auth/permissions';
import { badInput, conflict, forbidden } from '../errors';
import { hasDeviceOutsideScope } from '../registry/devices';
import type { DbOrTx } from '../storage/db';
import { parseFilter } from './filter';
import { commitOffsets, countLiveMembers, getCommittedOffsets, setGroupOffsets } from './groups';
import type { LiveJob } from './jobs';
import type { LiveLog } from './backend';
import { parseOffset } from './input';

/** Where {@link resetJobOffsets} moves a group (the JobOffsetResetInput of schema/live.graphql). */
export type OffsetTarget =
  | { readonly kind: 'earliest' }
  | { readonly kind: 'latest' }
  /** Epoch milliseconds. */
  | { readonly kind: 'time'; readonly timeMs: number }
  | { readonly kind: 'offset'; readonly offset: number };

/** The reset target as the client gives it: exactly one field; none means the head (latest). */
export interface OffsetTargetInput {
  readonly earliest?: boolean | null | undefined;
  readonly latest?: boolean | null | undefined;
  readonly time?: number | null | undefined;
  readonly offset?: string | null | undefined;
}

/** Parses a reset target; BAD_USER_INPUT unless exactly one field is given (absent: latest). */
export function parseOffsetTarget(input: OffsetTargetInput | null | undefined): OffsetTarget {
  if (!input) return { kind: 'latest' };
  const given = (['earliest', 'latest', 'time', 'offset'] as const).filter((k) => input[k] !== null && input[k] !== undefined);
  if (given.length !== 1) throw badInput('give exactly one of earliest, latest, time or offset', { given });
  const k = given[0]!;
  switch (k) {
    case 'earliest':
    case 'latest':
      if (input[k] !== true) throw badInput(`${k} must be true when given`);
      return { kind: k };
    case 'time':
      return { kind: 'time', timeMs: input.time! };
    case 'offset':
      return { kind: 'offset', offset: parseOffset(input.offset!) };
    default: {
      const never: never = k;
      return never;
    }
  }
}

/**
 * Checks that the caller may move the offsets of a job's groups: its ASSET_READ grant must reach
 * every device the job selects now. Skipping messages of devices it cannot read would take them
 * from consumers that can. FORBIDDEN otherwise (without naming the devices it cannot see);
 * `hint` ends the message.
 */
export async function requireJobDevices(db: DbOrTx, access: Access, job: LiveJob, hint = ''): Promise<void> {
  const scope = access.scope('ASSET_READ');
  const f = parseFilter(job.filter);
  const outside = await hasDeviceOutsideScope(db, job.orgId, scope, { assetIds: f.assetIds, devices: f.devices, productKeys: f.productKeys, modelIdentifiers: f.modelIds });
  if (outside) throw forbidden(`moving the offsets of job ${job.id} needs ASSET_READ on every device it selects${hint}`, { jobId: job.id });
}

/** Committed offsets of a group, sorted by partition, as the API returns them. */
export async function listGroupOffsets(db: DbOrTx, jobId: string, group: string): Promise<{ partition: number; offset: string }[]> {
  const m = await getCommittedOffsets(db, jobId, group);
  return [...m].sort(([a], [b]) => a - b).map(([partition, offset]) => ({ partition, offset: String(offset) }));
}

/**
 * Commits `offset` for some partitions of a group (offsets only move forward). An offset past the
 * head of the log is BAD_USER_INPUT: the group would receive nothing until the log got there.
 */
export async function commitJobOffsets(db: DbOrTx, liveLog: LiveLog, access: Access, job: LiveJob, group: string, partitions: readonly number[], offset: number): Promise<void> {
  await requireJobDevices(db, access, job);
  const bad = partitions.find((p) => p < 0 || p >= job.partitions);
  if (bad !== undefined) throw badInput(`partition ${bad} does not exist; the job has ${job.partitions}`, { partition: bad });
  const head = await liveLog.head();
  if (offset > head) throw badInput(`offset ${offset} is past the head of the message log (${head}); commit the offset of a message you received`, { offset: String(offset), head: String(head) });
  await commitOffsets(db, job.id, group, [...new Set(partitions)], offset);
}

/**
 * Moves every partition of a group to `target`, backwards too. Refused (CONFLICT) while the group
 * has connected consumers: they keep their own positions and would commit over the reset.
 * Returns the offset set.
 */
export async function resetJobOffsets(db: DbOrTx, liveLog: LiveLog, access: Access, job: LiveJob, group: string, target: OffsetTarget, windowS: number): Promise<number> {
  await requireJobDevices(db, access, job);
  const members = await countLiveMembers(db, job.id, group);
  if (members > 0) throw conflict(`group ${group} has ${members} connected consumer(s); reset it when none is connected`, { group, members });
  const head = await liveLog.head();
  let offset: number;
  switch (target.kind) {
    case 'latest':
      offset = head;
      break;
    case 'earliest':
      offset = await liveLog.earliest(job.orgId, windowS);
      break;
    case 'time': {
      const before = await liveLog.offsetBefore(job.orgId, target.timeMs);
      offset = before === null ? head : Math.max(before, await liveLog.earliest(job.orgId, windowS));
      break;
    }
    case 'offset':
      if (target.offset > head) throw badInput(`offset ${target.offset} is past the head of the message log (${head})`, { offset: String(target.offset), head: String(head) });
      await liveLog.checkResume(job.orgId, target.offset, windowS);
      offset = target.offset;
      break;
    default: {
      const never: never = target;
      return never;
    }
  }
  await setGroupOffsets(db, job.id, group, Array.from({ length: job.partitions }, (_, p) => p), offset);
  return offset;
}
