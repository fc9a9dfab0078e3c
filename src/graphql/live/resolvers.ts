import { commitJobOffsets, listGroupOffsets, parseOffsetTarget, resetJobOffsets, type OffsetTargetInput } from '../../live/job-offsets';
import { createJob, deleteJob, getJob, listJobs, updateJob, type LiveJob } from '../../live/jobs';
import type { LiveBatch, LiveKind } from '../../live/project';
import { parseGroup, parseOffset } from '../../live/input';
import { liveOf } from '../../live/service';
import { AppError } from '../../errors';
import type { GraphQLContext } from '../context';

type StreamArgs = { filter?: unknown; fromOffset?: string | null };

function stream(kind: LiveKind) {
  return {
    subscribe: (_: unknown, args: StreamArgs, ctx: GraphQLContext) => liveOf(ctx.deps).openStream(ctx.access, ctx.connection, kind, args),
    resolve: (b: LiveBatch) => b,
  };
}

const offsetsOf = (ctx: GraphQLContext, job: LiveJob, group: string) => listGroupOffsets(ctx.deps.db, job.id, group);

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
      await commitJobOffsets(ctx.deps.db, liveOf(ctx.deps).log, ctx.access, job, group, a.partitions, parseOffset(a.offset));
      return offsetsOf(ctx, job, group);
    },
    resetJobOffsets: async (_: unknown, a: { jobId: string; group: string; to?: OffsetTargetInput | null }, ctx: GraphQLContext) => {
      const caller = ctx.access.require('ASSET_READ');
      const job = await getJob(ctx.deps.db, caller.orgId, a.jobId);
      const group = parseGroup(a.group);
      await resetJobOffsets(ctx.deps.db, liveOf(ctx.deps).log, ctx.access, job, group, parseOffsetTarget(a.to), ctx.deps.config.REPLAY_WINDOW_S);
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
