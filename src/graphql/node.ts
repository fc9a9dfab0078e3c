import { findAppError, ErrorCode } from '../errors';
import { authResolvers } from './auth/resolvers';
import type { GraphQLContext } from './context';
import { registryResolvers } from './registry/resolvers';

/*
 * Global ids (Relay's Global Object Identification): base64url of `<type>:<orgId>:<key>`, where
 * the key is the entity's own key (assetId, productKey, identifier, accessKey). The organisation
 * makes ids unique across organisations (two organisations may both have a model "Pump"), and
 * lets `node` answer null for another organisation's id without a query.
 */

/** The types that implement Node, and the key field each id wraps. */
const NODE_KEYS = { Device: 'assetId', Product: 'productKey', ThingModel: 'identifier', ServiceAccount: 'accessKey' } as const;
type NodeType = keyof typeof NODE_KEYS;

/** The global id of an entity of the caller's organisation. */
export function toGlobalId(type: NodeType, orgId: string, key: string): string {
  return Buffer.from(`${type}:${orgId}:${key}`).toString('base64url');
}

/** Decodes a global id; null when it is not one {@link toGlobalId} made. */
export function fromGlobalId(id: string): { type: NodeType; orgId: string; key: string } | null {
  if (!/^[\w-]{1,1024}$/.test(id)) return null;
  const m = /^(\w+):([^:]+):(.+)$/s.exec(Buffer.from(id, 'base64url').toString('utf8'));
  if (!m || !Object.hasOwn(NODE_KEYS, m[1]!)) return null;
  return { type: m[1] as NodeType, orgId: m[2]!, key: m[3]! };
}

/** Which type each object returned by `node` is (the Node interface's resolveType). */
const typeOf = new WeakMap<object, NodeType>();

const idResolver = (type: NodeType) => (parent: Record<string, unknown>, _: unknown, ctx: GraphQLContext) => toGlobalId(type, ctx.access.caller!.orgId, String(parent[NODE_KEYS[type]]));

/** Runs the type's own lookup, with its permission checks; NOT_FOUND becomes null (Relay). */
async function fetchNode(type: NodeType, key: string, ctx: GraphQLContext): Promise<object | null> {
  const q = registryResolvers.Query;
  try {
    switch (type) {
      case 'Device':
        return await q.device(null, { assetId: key }, ctx);
      case 'Product':
        return await q.product(null, { productKey: key }, ctx);
      case 'ThingModel':
        return await q.thingModel(null, { identifier: key }, ctx);
      case 'ServiceAccount':
        return (await authResolvers.Query.serviceAccounts(null, null, ctx)).find((sa) => sa.accessKey === key) ?? null;
      default: {
        const never: never = type;
        return never;
      }
    }
  } catch (e) {
    if (findAppError(e)?.code === ErrorCode.NOT_FOUND) return null;
    throw e;
  }
}

/** `Query.node`, the `id` field of each Node type, and the interface's type resolution. */
export const nodeResolvers = {
  Node: {
    __resolveType: (obj: object) => typeOf.get(obj) ?? null,
  },
  Query: {
    node: async (_: unknown, a: { id: string }, ctx: GraphQLContext) => {
      const parsed = fromGlobalId(a.id);
      const caller = ctx.access.caller;
      if (!parsed || !caller || parsed.orgId !== caller.orgId) return null;
      const obj = await fetchNode(parsed.type, parsed.key, ctx);
      if (obj) typeOf.set(obj, parsed.type);
      return obj;
    },
  },
  Device: { id: idResolver('Device') },
  Product: { id: idResolver('Product') },
  ThingModel: { id: idResolver('ThingModel') },
  ServiceAccount: { id: idResolver('ServiceAccount') },
};
