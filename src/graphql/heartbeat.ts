import { setTimeout as sleep } from 'node:timers/promises';
import type { GraphQLContext } from './context';

/** `heartbeat`: a minimal subscription proving graphql-ws end to end (requires a valid token). */
export const heartbeatResolvers = {
  Subscription: {
    heartbeat: {
      subscribe: async function* (_: unknown, a: { intervalMs?: number | null; count?: number | null }, ctx: GraphQLContext) {
        ctx.access.requireCaller();
        const interval = Math.max(100, a.intervalMs ?? 1000);
        const count = Math.min(Math.max(1, a.count ?? 10), 10_000);
        for (let i = 0; i < count; i++) {
          yield { heartbeat: new Date() };
          if (i < count - 1) await sleep(interval);
        }
      },
    },
  },
};
