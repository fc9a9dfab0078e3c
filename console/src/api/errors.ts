/**
 * Words a person understands for each error code of the API (docs/graphql-api.md lists the
 * codes), and the error type every API call throws.
 */

const WORDS: Readonly<Record<string, string>> = {
  UNAUTHENTICATED: 'Your session has ended or the token is not valid. Sign in again.',
  FORBIDDEN: 'Your service account is not allowed to do this.',
  NOT_FOUND: 'Not found: it does not exist, or your service account cannot see it.',
  BAD_USER_INPUT: 'Some of the input is not valid.',
  GRAPHQL_VALIDATION_FAILED: 'The console sent a request the server does not accept.',
  MODEL_VIOLATION: 'The thing model refuses a value.',
  CONFLICT: 'This conflicts with something that exists: a duplicate key, something still in use, or a disabled device.',
  PAYLOAD_TOO_LARGE: 'This is larger than the server accepts.',
  RANGE_NOT_SATISFIABLE: 'The requested part of the file is outside it.',
  RATE_LIMITED: 'The server is busy or too many requests were made. Try again in a moment.',
  GONE: 'It is gone: it expired before it was completed.',
  OFFSET_OUT_OF_RANGE: 'The live stream could not resume where it stopped: those messages are older than the replay window.',
  QUERY_TOO_COMPLEX: 'The request asks for too much at once. Choose a shorter range or fewer items.',
  SERVICE_UNAVAILABLE: 'The service cannot reach its database right now. Try again shortly.',
  INTERNAL_SERVER_ERROR: 'Something went wrong on the server.',
  NETWORK: 'The server cannot be reached. Check the connection and try again.',
  BAD_RESPONSE: 'The server sent an answer the console does not understand.',
  BAD_SIGNATURE: 'The access key and secret key do not match.',
  UNKNOWN_ACCESS_KEY: 'No enabled service account has this access key.',
};

/** The sentence shown for an error code. */
export function describeErrorCode(code: string): string {
  return WORDS[code] ?? 'The request failed.';
}

/** An API failure: a code, the server's own message, and the sentence to show. */
export class ApiError extends Error {
  /** The error code (docs/graphql-api.md), or NETWORK / BAD_RESPONSE for transport failures. */
  readonly code: string;
  /** The server's message, shown as detail below the sentence. */
  readonly serverMessage: string;
  /** The server's structured details (e.g. MODEL_VIOLATION's list of problems). */
  readonly details: unknown;
  /** Seconds the server asked to wait (Retry-After), when it said. */
  readonly retryAfterS: number | undefined;

  constructor(code: string, serverMessage: string, details?: unknown, retryAfterS?: number) {
    super(describeErrorCode(code));
    this.name = 'ApiError';
    this.code = code;
    this.serverMessage = serverMessage;
    this.details = details;
    this.retryAfterS = retryAfterS;
  }
}

/** Any thrown value as an ApiError (unexpected ones become BAD_RESPONSE). */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof DOMException && e.name === 'AbortError') return new ApiError('NETWORK', 'the request was cancelled');
  if (e instanceof TypeError) return new ApiError('NETWORK', e.message);
  return new ApiError('BAD_RESPONSE', e instanceof Error ? e.message : String(e));
}
