import { ApolloServer } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled, ApolloServerPluginSchemaReportingDisabled, ApolloServerPluginUsageReportingDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { ErrorCode, findAppError, toSafeError } from '../errors';
import type { GraphQLContext } from '../graphql/context';
import type { Logger } from '../log';
import { createGraphQLMetricsPlugin } from './metrics-http';
import { createQueryLimitsRule, type QueryLimits } from './query-limits';

/** Codes that GraphQL itself or Apollo produce for client mistakes; kept as they are. */
const CLIENT_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'BAD_REQUEST', 'PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_SUPPORTED', 'OPERATION_RESOLUTION_FAILURE', ...Object.values(ErrorCode)]);

/**
 * The one place GraphQL errors are shaped for clients: AppErrors keep their code, message
 * and details; GraphQL's own client errors pass; anything else is masked with an id and logged.
 */
export function formatGraphQLError(log: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const app = findAppError(error);
    const base = { message: formatted.message, ...(formatted.locations ? { locations: formatted.locations } : {}), ...(formatted.path ? { path: formatted.path } : {}) };
    if (app) return { ...base, message: app.message, extensions: { code: app.code, ...(app.details ? { details: app.details } : {}) } };
    if (formatted.extensions?.['queryLimit']) return { ...base, extensions: { code: ErrorCode.QUERY_TOO_COMPLEX } };
    const original = unwrapResolverError(error);
    const code = formatted.extensions?.code;
    if (original instanceof GraphQLError && typeof original.extensions?.code === 'string' && CLIENT_CODES.has(original.extensions.code)) {
      return { ...base, extensions: { code: original.extensions.code } };
    }
    if (typeof code === 'string' && CLIENT_CODES.has(code) && !(original instanceof Error && !(original instanceof GraphQLError))) {
      return { ...base, extensions: { code } };
    }
    const safe = toSafeError(original, log);
    return { ...base, message: safe.message, extensions: { code: safe.code, ...(safe.errorId ? { errorId: safe.errorId } : {}) } };
  };
}

/** Creates (but does not start) the Apollo server over the shared schema. */
export function createApollo(schema: GraphQLSchema, log: Logger, limits: QueryLimits): ApolloServer<GraphQLContext> {
  return new ApolloServer<GraphQLContext>({
    schema,
    // CSRF: a browser sends a cross-site request without a preflight only when it carries no
    // custom header; the access token travels in a header (never a cookie), so a request that
    // carries one cannot be forged and needs no Apollo-Require-Preflight.
    csrfPrevention: { requestHeaders: ['authorization', 'apim-accesstoken', 'x-apollo-operation-name', 'apollo-require-preflight'] },
    introspection: true,
    includeStacktraceInErrorResponses: false,
    validationRules: [createQueryLimitsRule(limits)],
    formatError: formatGraphQLError(log),
    // PERF: the implicit cache-control plugin hooks every field resolution (willResolveField), which
    // dominates bulk reads; nothing here uses @cacheControl or Apollo's reporting.
    // The page at GET /graphql (text/html) is served by landing-page.ts from the package: Apollo's loads from a CDN.
    plugins: [createGraphQLMetricsPlugin(), ApolloServerPluginLandingPageDisabled(), ApolloServerPluginCacheControlDisabled(), ApolloServerPluginInlineTraceDisabled(), ApolloServerPluginUsageReportingDisabled(), ApolloServerPluginSchemaReportingDisabled()],
    logger: {
      debug: (m) => log.debug({ component: 'apollo', detail: String(m) }, 'apollo'),
      info: (m) => log.debug({ component: 'apollo', detail: String(m) }, 'apollo'),
      warn: (m) => log.warn({ component: 'apollo', detail: String(m) }, 'apollo'),
      error: (m) => log.error({ component: 'apollo', detail: String(m) }, 'apollo'),
    },
  });
}
