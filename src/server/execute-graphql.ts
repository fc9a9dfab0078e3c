import type { ApolloServer } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import type { Access } from '../auth/permissions';
import { createContext, type GraphQLContext } from '../graphql/context';
import type { AppDeps } from './deps';

/** The outcome of an in-process GraphQL operation, errors already shaped by `formatError`. */
export interface GraphQLOutcome {
  readonly data: Record<string, unknown> | null | undefined;
  readonly errors: readonly GraphQLFormattedError[] | undefined;
}

/**
 * Runs one GraphQL operation in process, as `access`, against the same schema, validation
 * rules, error masking and context as HTTP and WebSocket callers (the REST shim uses it).
 */
export type ExecuteGraphQL = (document: string, variables: Readonly<Record<string, unknown>>, access: Access, requestId: string) => Promise<GraphQLOutcome>;

/** Builds {@link ExecuteGraphQL} over a started Apollo server. */
export function createGraphQLExecutor(getApollo: () => ApolloServer<GraphQLContext>, deps: AppDeps): ExecuteGraphQL {
  return async (document, variables, access, requestId) => {
    const response = await getApollo().executeOperation({ query: document, variables: { ...variables } }, { contextValue: createContext(deps, access, requestId) });
    if (response.body.kind !== 'single') throw new Error('incremental delivery is not supported in process');
    const { data, errors } = response.body.singleResult;
    return { data: data as Record<string, unknown> | null | undefined, errors };
  };
}
