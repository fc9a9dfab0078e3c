import { randomUUID } from 'node:crypto';
import type { Logger } from '../log';
import type { LiveLog } from './backend';
import type { Db } from '../storage/db';
import type { CompiledFilter } from './filter';
import { assignPartitions, commitOffsets, getCommittedOffsets, GROUP_HEARTBEAT_MS, heartbeatMember, initGroupOffsets, leaveGroup } from './groups';
import type { LiveHub } from './hub';
import type { LiveJob } from './jobs';
import type { LiveBatch, Selection } from './project';
import { LiveStream, type LiveStreamObserver } from './stream';

/** Options of {@link openGroupConsumer}. */
export interface GroupConsumerOptions {
  readonly db: Db;
  readonly liveLog: LiveLog;
  readonly hub: LiveHub;
  readonly log: Logger;
  readonly job: LiveJob;
  readonly group: string;
  readonly filter: CompiledFilter;
  readonly autoCommit: boolean;
  readonly bufferMax: number;
  readonly replayWindowS: number;
  readonly onOverflow: (reason?: string) => void;
  readonly observer?: LiveStreamObserver;
}

function minFloor(floors: ReadonlyMap<number, number>, fallback: number): number {
  return floors.size ? Math.min(...floors.values()) : fallback;
}

/**
 * Joins a consumer group of a job and streams the records of the partitions assigned to this
 * member, from each partition's committed offset. Every second it heartbeats, re-reads the
 * group's members (on every instance) and, when the assignment changes, restarts its stream
 * from the lowest floor: partitions it kept continue after what it delivered, new ones start at
 * the group's committed offset. Overlap during a rebalance can deliver a message twice
 * (at-least-once); nothing is skipped.
 */
export async function openGroupConsumer(o: GroupConsumerOptions): Promise<LiveStream> {
  const { db, hub, job, group } = o;
  const memberId = `${Date.now().toString(36)}-${randomUUID()}`;
  await hub.ready();
  await initGroupOffsets(db, job.id, group, job.partitions, hub.cursor);
  let assigned = assignPartitions(await heartbeatMember(db, job.id, group, memberId), memberId, job.partitions);
  const committed = await getCommittedOffsets(db, job.id, group);
  let floors = new Map(assigned.map((p) => [p, committed.get(p) ?? hub.cursor]));
  const from = minFloor(floors, hub.cursor);
  try {
    await o.liveLog.checkResume(job.orgId, from, o.replayWindowS);
  } catch (e) {
    await leaveGroup(db, memberId);
    throw e;
  }
  const selection = (f: ReadonlyMap<number, number>): Selection => ({ kind: job.kind, filter: o.filter, partitions: { count: job.partitions, floors: f } });
  let pending: LiveBatch | null = null;
  let ticking = false;
  let closed = false;

  async function flush(): Promise<void> {
    const b = pending;
    pending = null;
    if (b?.partitions?.length) await commitOffsets(db, job.id, group, b.partitions, Number(b.offset));
  }

  async function tick(): Promise<void> {
    if (ticking || closed) return;
    ticking = true;
    try {
      await flush();
      const next = assignPartitions(await heartbeatMember(db, job.id, group, memberId), memberId, job.partitions);
      if (closed || next.join() === assigned.join()) return;
      const offsets = await getCommittedOffsets(db, job.id, group);
      const nextFloors = new Map(next.map((p) => [p, floors.has(p) ? Math.max(floors.get(p)!, stream.delivered) : (offsets.get(p) ?? hub.cursor)]));
      o.log.debug({ jobId: job.id, group, memberId, from: assigned, to: next }, 'consumer group rebalanced');
      assigned = next;
      floors = nextFloors;
      stream.restart(selection(floors), minFloor(floors, hub.cursor));
    } catch (err) {
      o.log.warn({ err, jobId: job.id, group }, 'consumer group heartbeat failed');
    } finally {
      ticking = false;
    }
  }

  const timer = setInterval(() => void tick(), GROUP_HEARTBEAT_MS);
  timer.unref();
  const stream = new LiveStream({
    log: o.liveLog,
    hub,
    orgId: job.orgId,
    selection: selection(floors),
    fromOffset: from,
    bufferMax: o.bufferMax,
    onOverflow: o.onOverflow,
    ...(o.observer ? { observer: o.observer } : {}),
    ...(o.autoCommit
      ? {
          onDelivered: (b: LiveBatch) => {
            pending = b;
          },
        }
      : {}),
    onClose: () => {
      closed = true;
      clearInterval(timer);
      void flush()
        .then(() => leaveGroup(db, memberId))
        .catch((err: unknown) => o.log.warn({ err, jobId: job.id, group }, 'consumer group leave failed'));
    },
  });
  return stream;
}
