import { readdirSync, readFileSync } from 'node:fs';
import { buildASTSchema, GraphQLInterfaceType, GraphQLObjectType, GraphQLScalarType, parse, type GraphQLFieldResolver, type GraphQLSchema, type GraphQLTypeResolver } from 'graphql';
import { packagePath } from '../package-root';
import { authResolvers } from './auth/resolvers';
import { policyResolvers } from './policies/resolvers';
import { queryResolvers } from './query/resolvers';
import { registryResolvers } from './registry/resolvers';
import { DateTimeScalar, JSONScalar, TimestampScalar } from './scalars';
import { heartbeatResolvers } from './heartbeat';
import { ingestResolvers } from './ingest/resolvers';
import { liveResolvers } from './live/resolvers';
import { firmwareResolvers } from './firmware/resolvers';
import { nodeResolvers } from './node';

/** The SDL folder: the public contract. */
export const SCHEMA_DIR = packagePath('schema');

/** All SDL files, in name order. */
export function loadTypeDefs(): string[] {
  return readdirSync(SCHEMA_DIR)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((f) => readFileSync(`${SCHEMA_DIR}/${f}`, 'utf8'));
}

type ResolverMap = Record<string, unknown>;

/** Merges resolver maps type by type. */
export function mergeResolvers(...maps: ResolverMap[]): ResolverMap {
  const out: Record<string, Record<string, unknown>> = {};
  for (const m of maps) {
    for (const [type, fields] of Object.entries(m)) {
      if (typeof fields === 'object' && fields !== null && !(fields.constructor?.name === 'GraphQLScalarType')) out[type] = { ...(out[type] ?? {}), ...(fields as object) };
      else (out as Record<string, unknown>)[type] = fields;
    }
  }
  return out;
}

/** Resolver maps contributed by each domain; later issues add theirs here. */
export const domainResolvers: ResolverMap[] = [registryResolvers, authResolvers, heartbeatResolvers, ingestResolvers, queryResolvers, liveResolvers, policyResolvers, firmwareResolvers, nodeResolvers];

/** Builds the executable schema from `schema/` and the domain resolvers. */
export function buildSchema(): GraphQLSchema {
  const schema = buildASTSchema(parse(loadTypeDefs().join('\n')));
  attachResolvers(schema, mergeResolvers({ Timestamp: TimestampScalar, DateTime: DateTimeScalar, JSON: JSONScalar }, ...domainResolvers));
  return schema;
}

type FieldResolver = GraphQLFieldResolver<unknown, unknown>;

/** Binds resolver maps onto an SDL-built schema; an unknown type or field is a startup error. */
export function attachResolvers(schema: GraphQLSchema, resolvers: ResolverMap): void {
  for (const [typeName, impl] of Object.entries(resolvers)) {
    const type = schema.getType(typeName);
    if (!type) throw new Error(`resolvers given for unknown type ${typeName}`);
    if (type instanceof GraphQLScalarType) {
      const s = impl as GraphQLScalarType;
      type.serialize = s.serialize;
      type.parseValue = s.parseValue;
      type.parseLiteral = s.parseLiteral;
      continue;
    }
    if (type instanceof GraphQLInterfaceType) {
      const { __resolveType } = impl as { __resolveType?: GraphQLTypeResolver<unknown, unknown> };
      if (!__resolveType) throw new Error(`interface ${typeName} needs __resolveType`);
      type.resolveType = __resolveType;
      continue;
    }
    if (!(type instanceof GraphQLObjectType)) throw new Error(`cannot attach resolvers to ${typeName}`);
    const fields = type.getFields();
    for (const [fieldName, r] of Object.entries(impl as Record<string, unknown>)) {
      const field = fields[fieldName];
      if (!field) throw new Error(`resolver given for unknown field ${typeName}.${fieldName}`);
      if (typeof r === 'function') field.resolve = r as FieldResolver;
      else {
        const { subscribe, resolve } = r as { subscribe?: FieldResolver; resolve?: FieldResolver };
        if (subscribe) field.subscribe = subscribe;
        field.resolve = resolve ?? ((payload: unknown) => (payload as Record<string, unknown>)[fieldName]);
      }
    }
  }
}
