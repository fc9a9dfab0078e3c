import { notFound } from '../../errors';
import type { LoadedPolicies } from '../../policies/load';
import { deleteComputedPoint, deleteProcessingPolicy, deleteStoragePolicy, getModelPolicies, setComputedPoint, setProcessingPolicy, setStoragePolicy } from '../../policies/manage';
import { findPoint } from '../../policies/input';
import { policyRuntime } from '../../policies/hooks';
import { getModel } from '../../registry/models';
import type { ComputedPoint, ProcessingPolicy, ProcessingStep } from '../../policies/types';
import type { GraphQLContext } from '../context';

type ModelArg = { model: string };

async function policiesOf(ctx: GraphQLContext, model: string, permission: 'REGISTRY_READ' | 'REGISTRY_FULL' = 'REGISTRY_READ'): Promise<LoadedPolicies> {
  const { orgId } = ctx.access.require(permission);
  return getModelPolicies(ctx.deps.db, orgId, model, policyRuntime(ctx.deps).settings);
}

/** Re-reads the model's policies after a save, and lets this instance apply them at once. */
async function afterSave(ctx: GraphQLContext, model: string): Promise<LoadedPolicies> {
  const p = await policiesOf(ctx, model, 'REGISTRY_FULL');
  policyRuntime(ctx.deps).cache.invalidate(p.modelId);
  return p;
}

const stepOut = (s: ProcessingStep) => ({ ...s });
const processingOut = (p: ProcessingPolicy) => ({ ...p, steps: p.steps.map(stepOut) });
const computedOut = (c: ComputedPoint) =>
  c.kind === 'EXPRESSION'
    ? { point: c.point, kind: c.kind, expression: c.expression, window: null, inputs: c.inputs.map((i) => i.identifier), modelVersion: c.modelVersion, updatedAt: c.updatedAt }
    : { point: c.point, kind: c.kind, expression: null, window: { source: c.source, function: c.function, sizeS: c.windowS }, inputs: [c.source], modelVersion: c.modelVersion, updatedAt: c.updatedAt };

/** Policy resolvers: parse -> call a service -> map. */
export const policyResolvers = {
  Query: {
    modelPolicies: async (_: unknown, a: ModelArg, ctx: GraphQLContext) => {
      const p = await policiesOf(ctx, a.model);
      return { model: p.identifier, modelVersion: p.modelVersion, revision: p.revision, processing: [...p.processing.values()].map(processingOut), storage: p.storage, computed: p.computed.map(computedOut) };
    },
    effectivePointPolicy: async (_: unknown, a: ModelArg & { point: string }, ctx: GraphQLContext) => {
      const { orgId } = ctx.access.require('REGISTRY_READ');
      const model = await getModel(ctx.deps.db, orgId, a.model);
      const point = findPoint(model, a.point);
      const p = await getModelPolicies(ctx.deps.db, orgId, a.model, policyRuntime(ctx.deps).settings);
      const storage = p.storageByPoint.get(point.id)!;
      const processing = p.processing.get(point.id);
      const computed = p.computed.find((c) => c.pointId === point.id);
      return {
        model: p.identifier,
        point: point.identifier,
        modelVersion: p.modelVersion,
        revision: p.revision,
        processing: processing ? processingOut(processing) : null,
        storage: { ...storage, latestOnly: storage.forms.length === 0 },
        computed: computed ? computedOut(computed) : null,
      };
    },
  },
  Mutation: {
    setProcessingPolicy: async (_: unknown, a: ModelArg & { point: string; input: unknown }, ctx: GraphQLContext) => {
      await setProcessingPolicy(ctx.deps.db, ctx.access.require('REGISTRY_FULL').orgId, a.model, a.point, a.input);
      const p = [...(await afterSave(ctx, a.model)).processing.values()].find((x) => x.point === a.point);
      if (!p) throw notFound('processing policy', { point: a.point });
      return processingOut(p);
    },
    deleteProcessingPolicy: async (_: unknown, a: ModelArg & { point: string }, ctx: GraphQLContext) => {
      const done = await deleteProcessingPolicy(ctx.deps.db, ctx.access.require('REGISTRY_FULL').orgId, a.model, a.point);
      await afterSave(ctx, a.model);
      return done;
    },
    setStoragePolicy: async (_: unknown, a: ModelArg & { input: { name?: string } }, ctx: GraphQLContext) => {
      const rt = policyRuntime(ctx.deps);
      await setStoragePolicy(ctx.deps.db, ctx.access.require('REGISTRY_FULL').orgId, a.model, a.input, rt.settings);
      const p = (await afterSave(ctx, a.model)).storage.find((s) => s.name === a.input.name);
      if (!p) throw notFound('storage policy', { name: a.input.name });
      return p;
    },
    deleteStoragePolicy: async (_: unknown, a: ModelArg & { name: string }, ctx: GraphQLContext) => {
      const done = await deleteStoragePolicy(ctx.deps.db, ctx.access.require('REGISTRY_FULL').orgId, a.model, a.name, policyRuntime(ctx.deps).settings);
      await afterSave(ctx, a.model);
      return done;
    },
    setComputedPoint: async (_: unknown, a: ModelArg & { input: { point?: string } }, ctx: GraphQLContext) => {
      await setComputedPoint(ctx.deps.db, ctx.access.require('REGISTRY_FULL').orgId, a.model, a.input);
      const c = (await afterSave(ctx, a.model)).computed.find((x) => x.point === a.input.point);
      if (!c) throw notFound('computed point', { point: a.input.point });
      return computedOut(c);
    },
    deleteComputedPoint: async (_: unknown, a: ModelArg & { point: string }, ctx: GraphQLContext) => {
      const done = await deleteComputedPoint(ctx.deps.db, ctx.access.require('REGISTRY_FULL').orgId, a.model, a.point);
      await afterSave(ctx, a.model);
      return done;
    },
  },
};
