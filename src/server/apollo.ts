import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled, ApolloServerPluginSchemaReportingDisabled, ApolloServerPluginUsageReportingDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError, type FormattedExecutionResult, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { databaseUnavailable, ErrorCode, findAppError, isDatabaseUnavailable, isStatementTimeout, toSafeError } from '../errors';
import type { GraphQLContext } from '../graphql/context';
import type { Logger } from '../log';
import { retryableHead } from './retryable-status';
import { ResponseTooLargeError, stringifyBounded } from './bounded-json';
import { inputGuardPlugin } from './input-guard';
import { createGraphQLMetricsPlugin } from './metrics-http';
import { createQueryLimitsRule, type QueryLimits } from './query-limits';

/** Codes that GraphQL itself or Apollo produce for client mistakes; kept as they are. */
const CLIENT_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'BAD_REQUEST', 'PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_SUPPORTED', 'OPERATION_RESOLUTION_FAILURE', ...Object.values(ErrorCode).filter((c) => c !== ErrorCode.INTERNAL_SERVER_ERROR)]);

/** A code whose message may reach the client as it is: never an internal error's. */
const isClientCode = (code: string) => code !== ErrorCode.INTERNAL_SERVER_ERROR && CLIENT_CODES.has(code);

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
    if (isDatabaseUnavailable(error)) return { ...base, message: databaseUnavailable().message, extensions: { code: ErrorCode.SERVICE_UNAVAILABLE } };
    if (isStatementTimeout(error)) {
      const safe = toSafeError(error, log);
      return { ...base, message: safe.message, extensions: { code: safe.code } };
    }
    const original = unwrapResolverError(error);
    // Apollo wraps what the context function throws (the token lookup failing during a database
    // outage) in a GraphQLError that carries the original's message, SQL and parameters included:
    // that is an internal error, never a client one.
    const wrapped = original instanceof GraphQLError && original.originalError && !(original.originalError instanceof GraphQLError) ? original.originalError : undefined;
    const code = formatted.extensions?.code;
    if (!wrapped && original instanceof GraphQLError && typeof original.extensions?.code === 'string' && isClientCode(original.extensions.code)) {
      return { ...base, extensions: { code: original.extensions.code } };
    }
    if (!wrapped && typeof code === 'string' && isClientCode(code) && !(original instanceof Error && !(original instanceof GraphQLError))) {
      return { ...base, extensions: { code } };
    }
    const safe = toSafeError(wrapped ?? original, log);
    return { ...base, message: safe.message, extensions: { code: safe.code, ...(safe.errorId ? { errorId: safe.errorId } : {}) } };
  };
}

/** Answers an operation that failed because of load or an unreachable database with HTTP 429 or 503 and Retry-After. */
const retryableStatusPlugin: ApolloServerPlugin<GraphQLContext> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        if (response.body.kind !== 'single') return;
        const retry = retryableHead(response.body.singleResult.errors);
        if (!retry) return;
        response.http.status = retry.status;
        response.http.headers.set('retry-after', retry.retryAfter);
      },
    };
  },
};

/**
 * Gives the place in the heavy-query lane of an operation run in process (the REST shim) back
 * once its result is built; over HTTP it is held until the response is written (graphql-http.ts).
 */
const releaseBudgetPlugin: ApolloServerPlugin<GraphQLContext> = {
  async requestDidStart() {
    return {
      async willSendResponse({ contextValue }) {
        if (contextValue.transport === 'rest') contextValue.budget.release();
      },
    };
  },
};

/** The response that replaces one larger than QUERY_MAX_RESPONSE_BYTES. */
export function responseTooLarge(maxBytes: number): FormattedExecutionResult {
  return {
    errors: [
      {
        message: `the response would exceed ${maxBytes} bytes (QUERY_MAX_RESPONSE_BYTES): page through the data (first/after), ask for a longer interval or a shorter time range, or for fewer devices or points`,
        extensions: { code: ErrorCode.RESPONSE_TOO_LARGE, details: { maxBytes } },
      },
    ],
    data: null,
  };
}

/**
 * Serialises a result in slices that yield to the event loop, up to `maxBytes`; a larger one is
 * answered with RESPONSE_TOO_LARGE instead (the work already done is dropped).
 */
export function createResultSerialiser(maxBytes: number, log: Logger): (result: FormattedExecutionResult) => Promise<string> {
  return async (result) => {
    try {
      return await stringifyBounded(result, maxBytes);
    } catch (e) {
      if (!(e instanceof ResponseTooLargeError)) throw e;
      log.warn({ maxBytes }, 'response too large');
      return JSON.stringify(responseTooLarge(maxBytes));
    }
  };
}

/** Creates (but does not start) the Apollo server over the shared schema. */
export function createApollo(schema: GraphQLSchema, log: Logger, limits: QueryLimits, shape: { formatError: ReturnType<typeof formatGraphQLError>; serialise: (result: FormattedExecutionResult) => Promise<string> }): ApolloServer<GraphQLContext> {
  return new ApolloServer<GraphQLContext>({
    schema,
    // CSRF: a browser sends a cross-site request without a preflight only when it carries no
    // custom header; the access token travels in a header (never a cookie), so a request that
    // carries one cannot be forged and needs no Apollo-Require-Preflight.
    csrfPrevention: { requestHeaders: ['authorization', 'apim-accesstoken', 'x-apollo-operation-name', 'apollo-require-preflight'] },
    introspection: true,
    includeStacktraceInErrorResponses: false,
    validationRules: [createQueryLimitsRule(limits)],
    // Bounds the cost of parsing one document before validation sees it.
    parseOptions: { maxTokens: limits.maxTokens },
    formatError: shape.formatError,
    stringifyResult: shape.serialise,
    // PERF: the implicit cache-control plugin hooks every field resolution (willResolveField), which
    // dominates bulk reads; nothing here uses @cacheControl or Apollo's reporting.
    // The page at GET /graphql (text/html) is served by landing-page.ts from the package: Apollo's loads from a CDN.
    plugins: [inputGuardPlugin<GraphQLContext>(), retryableStatusPlugin, releaseBudgetPlugin, createGraphQLMetricsPlugin(), ApolloServerPluginLandingPageDisabled(), ApolloServerPluginCacheControlDisabled(), ApolloServerPluginInlineTraceDisabled(), ApolloServerPluginUsageReportingDisabled(), ApolloServerPluginSchemaReportingDisabled()],
    logger: {
      debug: (m) => log.debug({ component: 'apollo', detail: String(m) }, 'apollo'),
      info: (m) => log.debug({ component: 'apollo', detail: String(m) }, 'apollo'),
      warn: (m) => log.warn({ component: 'apollo', detail: String(m) }, 'apollo'),
      error: (m) => log.error({ component: 'apollo', detail: String(m) }, 'apollo'),
    },
  });
}
