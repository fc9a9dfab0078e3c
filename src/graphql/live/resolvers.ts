import { getCommittedOffsets } from '../../live/groups';
import { commitOffsets, initGroupOffsets } from '../../live/groups';
import { createJob, deleteJob, getJob, listJobs, updateJob, type LiveJob } from '../../live/jobs';
import type { LiveBatch, LiveKind } from '../../live/project';
import { getHeadOffset } from '../../live/log';
import { liveOf, parseGroup, parseOffset } from '../../live/service';
import { badInput, AppError } from '../../errors';
import type { GraphQLContext } from '../context';

type StreamArgs = { filter?: unknown; fromOffset?: string | null };

function stream(kind: LiveKind) {
  return {
    subscribe: (_: unknown, args: StreamArgs, ctx: GraphQLContext) => liveOf(ctx.deps).openStream(ctx.access, ctx.connection, kind, args),
    resolve: (b: LiveBatch) => b,
  };
}

async function offsetsOf(ctx: GraphQLContext, job: LiveJob, group: string) {
  const m = await getCommittedOffsets(ctx.deps.db, job.id, group);
  return [...m].sort(([a], [b]) => a - b).map(([partition, offset]) => ({ partition, offset: String(offset) }));
}

/** Live subscriptions, subscription jobs and consumer-group offsets. */
export const liveResolvers = {
  SubscriptionJob: {
    groupOffsets: (job: LiveJob, a: { group: string }, ctx: GraphQLContext) => offsetsOf(ctx, job, parseGroup(a.group)),
  },
  Query: {
    subscriptionJobs: (_: unknown, __: unknown, ctx: GraphQLContext) => listJobs(ctx.deps.db, ctx.access.require('ASSET_READ').orgId),
    subscriptionJob: async (_: unknown, a: { id: string }, ctx: GraphQLContext) => {
      const orgId = ctx.access.require('ASSET_READ').orgId;
      try {
        return await getJob(ctx.deps.db, orgId, a.id);
      } catch (e) {
        if (e instanceof AppError && e.code === 'NOT_FOUND') return null;
        throw e;
      }
    },
  },
  Mutation: {
    createSubscriptionJob: (_: unknown, a: { input: unknown }, ctx: GraphQLContext) => createJob(ctx.deps.db, ctx.access.require('ORG_ADMIN'), a.input),
    updateSubscriptionJob: (_: unknown, a: { id: string; input: unknown }, ctx: GraphQLContext) => updateJob(ctx.deps.db, ctx.access.require('ORG_ADMIN'), a.id, a.input),
    deleteSubscriptionJob: (_: unknown, a: { id: string }, ctx: GraphQLContext) => deleteJob(ctx.deps.db, ctx.access.require('ORG_ADMIN').orgId, a.id),
    commitJobOffsets: async (_: unknown, a: { jobId: string; group: string; offset: string; partitions: number[] }, ctx: GraphQLContext) => {
      const caller = ctx.access.require('ASSET_READ');
      const job = await getJob(ctx.deps.db, caller.orgId, a.jobId);
      const group = parseGroup(a.group);
      const offset = parseOffset(a.offset);
      const bad = a.partitions.find((p) => p < 0 || p >= job.partitions);
      if (bad !== undefined) throw badInput(`partition ${bad} does not exist; the job has ${job.partitions}`, { partition: bad });
      await commitOffsets(ctx.deps.db, job.id, group, [...new Set(a.partitions)], offset);
      return offsetsOf(ctx, job, group);
    },
    resetJobOffsets: async (_: unknown, a: { jobId: string; group: string }, ctx: GraphQLContext) => {
      const caller = ctx.access.require('ASSET_READ');
      const job = await getJob(ctx.deps.db, caller.orgId, a.jobId);
      const group = parseGroup(a.group);
      const head = await getHeadOffset(ctx.deps.db);
      await initGroupOffsets(ctx.deps.db, job.id, group, job.partitions, head);
      await commitOffsets(ctx.deps.db, job.id, group, Array.from({ length: job.partitions }, (_, p) => p), head);
      return offsetsOf(ctx, job, group);
    },
  },
  Subscription: {
    measurePointsLive: stream('MEASURE_POINTS'),
    attributesLive: stream('ATTRIBUTES'),
    eventsLive: stream('EVENTS'),
    fileChangesLive: stream('FILES'),
    consumeSubscriptionJob: {
      subscribe: (_: unknown, a: { jobId: string; group?: string | null; autoCommit?: boolean | null }, ctx: GraphQLContext) => liveOf(ctx.deps).openJobConsumer(ctx.access, ctx.connection, a),
      resolve: (b: LiveBatch) => b,
    },
  },
};
