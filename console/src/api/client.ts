import { ApiError, describeErrorCode, toApiError } from './errors';
import { endSession, getToken } from './session-store';

/**
 * The console's GraphQL client: POST /graphql with the session's token. It uses only the public
 * API, as any client does. An UNAUTHENTICATED answer ends the session.
 */

/** One GraphQL error as the server sends it. */
export interface GraphQLErrorShape {
  readonly message: string;
  readonly path?: readonly (string | number)[];
  readonly extensions?: { readonly code?: string; readonly details?: unknown };
}

/** A whole response: data (possibly partial) and errors. */
export interface GraphQLResponse<T> {
  readonly data: T | null;
  readonly errors: readonly GraphQLErrorShape[];
}

/** Options of a call. */
export interface RequestOptions {
  readonly signal?: AbortSignal;
  /** A token other than the session's (sign-in checks a token before it opens the session). */
  readonly token?: string;
}

function retryAfter(res: Response): number | undefined {
  const v = Number(res.headers.get('retry-after'));
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

/** Turns a GraphQL error into an ApiError (ending the session when it says UNAUTHENTICATED). */
export function errorOf(e: GraphQLErrorShape, retryAfterS?: number): ApiError {
  const code = e.extensions?.code ?? 'BAD_RESPONSE';
  if (code === 'UNAUTHENTICATED') endSession(describeErrorCode(code));
  return new ApiError(code, e.message, e.extensions?.details, retryAfterS);
}

/** Runs an operation and returns data and errors as they came (for fields that may fail alone). */
export async function requestGraphQL<T>(query: string, variables: Record<string, unknown> = {}, opts: RequestOptions = {}): Promise<GraphQLResponse<T>> {
  const token = opts.token ?? getToken();
  let res: Response;
  try {
    res = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (e) {
    throw toApiError(e);
  }
  let body: { data?: T | null; errors?: GraphQLErrorShape[] };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    throw new ApiError(res.status === 429 ? 'RATE_LIMITED' : res.status >= 500 ? 'SERVICE_UNAVAILABLE' : 'BAD_RESPONSE', `HTTP ${res.status}`, undefined, retryAfter(res));
  }
  const errors = body.errors ?? [];
  if (body.data == null && errors[0]) throw errorOf(errors[0], retryAfter(res));
  return { data: body.data ?? null, errors };
}

/** Runs an operation; any error fails it (the first one is thrown as an ApiError). */
export async function gql<T>(query: string, variables: Record<string, unknown> = {}, opts: RequestOptions = {}): Promise<T> {
  const r = await requestGraphQL<T>(query, variables, opts);
  if (r.errors[0]) throw errorOf(r.errors[0]);
  if (r.data === null) throw new ApiError('BAD_RESPONSE', 'no data in the answer');
  return r.data;
}
