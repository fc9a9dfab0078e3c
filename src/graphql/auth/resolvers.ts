import { eq } from 'drizzle-orm';
import {
  createServiceAccount,
  deleteServiceAccount,
  getServiceAccount,
  listServiceAccounts,
  rotateServiceAccountSecret,
  setServiceAccountEnabled,
  updateServiceAccountGrants,
} from '../../auth/service-accounts';
import { notFound } from '../../errors';
import { organisations } from '../../storage/schema/index';
import type { GraphQLContext } from '../context';

const credentials = (r: { serviceAccount: { accessKey: string }; secretKey: string }) => ({ serviceAccount: r.serviceAccount, accessKey: r.serviceAccount.accessKey, secretKey: r.secretKey });

/** Service-account administration and `me`. */
export const authResolvers = {
  Query: {
    me: async (_: unknown, __: unknown, ctx: GraphQLContext) => {
      const c = ctx.access.requireCaller();
      const [org] = await ctx.deps.db.select().from(organisations).where(eq(organisations.id, c.orgId));
      if (!org) throw notFound('organisation');
      return { organisation: org, serviceAccount: await getServiceAccount(ctx.deps.db, c.orgId, c.accessKey) };
    },
    serviceAccounts: (_: unknown, __: unknown, ctx: GraphQLContext) => listServiceAccounts(ctx.deps.db, ctx.access.require('ORG_ADMIN').orgId),
  },
  Mutation: {
    createServiceAccount: async (_: unknown, a: { name: string; grants: unknown }, ctx: GraphQLContext) =>
      credentials(await createServiceAccount(ctx.deps.db, ctx.deps.box, { orgId: ctx.access.require('ORG_ADMIN').orgId, name: a.name, grants: a.grants })),
    updateServiceAccountGrants: (_: unknown, a: { accessKey: string; grants: unknown }, ctx: GraphQLContext) =>
      updateServiceAccountGrants(ctx.deps.db, ctx.access.require('ORG_ADMIN').orgId, a.accessKey, a.grants),
    disableServiceAccount: (_: unknown, a: { accessKey: string }, ctx: GraphQLContext) => setServiceAccountEnabled(ctx.deps.db, ctx.access.require('ORG_ADMIN').orgId, a.accessKey, false),
    enableServiceAccount: (_: unknown, a: { accessKey: string }, ctx: GraphQLContext) => setServiceAccountEnabled(ctx.deps.db, ctx.access.require('ORG_ADMIN').orgId, a.accessKey, true),
    rotateServiceAccountSecret: async (_: unknown, a: { accessKey: string }, ctx: GraphQLContext) =>
      credentials(await rotateServiceAccountSecret(ctx.deps.db, ctx.deps.box, ctx.access.require('ORG_ADMIN').orgId, a.accessKey)),
    deleteServiceAccount: (_: unknown, a: { accessKey: string }, ctx: GraphQLContext) => {
      const c = ctx.access.require('ORG_ADMIN');
      return deleteServiceAccount(ctx.deps.db, c.orgId, a.accessKey, c.accessKey);
    },
  },
};
