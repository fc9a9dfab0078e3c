import { randomUUID } from 'node:crypto';
import { GraphQLError } from 'graphql';

/** The one set of error codes. Apollo's names where they exist. */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  MODEL_VIOLATION: 'MODEL_VIOLATION',
  CONFLICT: 'CONFLICT',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  RANGE_NOT_SATISFIABLE: 'RANGE_NOT_SATISFIABLE',
  RATE_LIMITED: 'RATE_LIMITED',
  /** A subscription resume offset older than the replay window (its messages are gone). */
  OFFSET_OUT_OF_RANGE: 'OFFSET_OUT_OF_RANGE',
  /** A resource that existed and is gone for good (a presigned upload that never arrived). */
  GONE: 'GONE',
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  /** An operation that would return more values or bytes than QUERY_MAX_RESPONSE_VALUES / QUERY_MAX_RESPONSE_BYTES. */
  RESPONSE_TOO_LARGE: 'RESPONSE_TOO_LARGE',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** HTTP status for each code (REST routes, and GraphQL over HTTP where Apollo lets us). */
export const httpStatusOf: Readonly<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  BAD_USER_INPUT: 400,
  MODEL_VIOLATION: 400,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RANGE_NOT_SATISFIABLE: 416,
  RATE_LIMITED: 429,
  OFFSET_OUT_OF_RANGE: 410,
  GONE: 410,
  QUERY_TOO_COMPLEX: 400,
  RESPONSE_TOO_LARGE: 400,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL_SERVER_ERROR: 500,
};

/** Structured details a client may see (item index, identifier, reason, ...). */
export type ErrorDetails = Readonly<Record<string, unknown>>;

/**
 * The only error whose message reaches a client. Everything else is masked as
 * "Internal error (id: X)" and logged under X.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: ErrorDetails | undefined;

  constructor(code: ErrorCode, message: string, details?: ErrorDetails, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = httpStatusOf[code];
    this.details = details;
  }
}

/** Shorthands that read well at call sites. */
export const notFound = (what: string, details?: ErrorDetails) => new AppError(ErrorCode.NOT_FOUND, `${what} not found`, details);
export const badInput = (message: string, details?: ErrorDetails) => new AppError(ErrorCode.BAD_USER_INPUT, message, details);
export const conflict = (message: string, details?: ErrorDetails) => new AppError(ErrorCode.CONFLICT, message, details);
export const forbidden = (message = 'missing permission', details?: ErrorDetails) => new AppError(ErrorCode.FORBIDDEN, message, details);
export const unauthenticated = (message = 'a valid access token is required') => new AppError(ErrorCode.UNAUTHENTICATED, message);

/** Finds an AppError anywhere in a cause chain (GraphQL wraps resolver errors in originalError). */
export function findAppError(err: unknown): AppError | undefined {
  let cur: unknown = err;
  for (let i = 0; i < 8 && cur; i++) {
    if (cur instanceof AppError) return cur;
    const next = (cur as { originalError?: unknown; cause?: unknown }).originalError ?? (cur as { cause?: unknown }).cause;
    cur = next;
  }
  return undefined;
}

/** Minimal logger shape used here, so that this module stays free of pino. */
interface ErrorLogger {
  error(obj: object, msg: string): void;
}

/** Driver and server codes that mean the database cannot be reached now (not that the query was wrong). */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  // admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections, connection_exception family.
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);

/** Whether `err` (or its cause) says the database is unreachable, so that the request may succeed later. */
export function isDatabaseUnavailable(err: unknown): boolean {
  let cur: unknown = err;
  for (let i = 0; i < 8 && cur && typeof cur === 'object'; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
    cur = (cur as { originalError?: unknown; cause?: unknown }).originalError ?? (cur as { cause?: unknown }).cause;
  }
  return false;
}

const STATEMENT_TIMEOUT_MESSAGE = 'the query ran longer than its time budget; ask for a shorter time range, fewer devices or points, or a coarser interval';

/** Whether `err` (or its cause) is PostgreSQL's query_canceled, which statement_timeout raises. */
export function isStatementTimeout(err: unknown): boolean {
  let cur: unknown = err;
  for (let i = 0; i < 8 && cur && typeof cur === 'object'; i++) {
    if ((cur as { code?: unknown }).code === '57014') return true;
    cur = (cur as { originalError?: unknown; cause?: unknown }).originalError ?? (cur as { cause?: unknown }).cause;
  }
  return false;
}

/** The error a client sees while the database is unreachable (HTTP 503 with Retry-After). */
export const databaseUnavailable = () => new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'the database is unavailable; retry later');

/** A client-safe view of any error: its code, message and details; internal ones masked and logged. */
export function toSafeError(err: unknown, log: ErrorLogger): { code: ErrorCode; message: string; details?: ErrorDetails; errorId?: string } {
  const app = findAppError(err);
  if (app) return app.details ? { code: app.code, message: app.message, details: app.details } : { code: app.code, message: app.message };
  if (isDatabaseUnavailable(err)) return { code: ErrorCode.SERVICE_UNAVAILABLE, message: databaseUnavailable().message };
  if (isStatementTimeout(err)) return { code: ErrorCode.QUERY_TOO_COMPLEX, message: STATEMENT_TIMEOUT_MESSAGE };
  const errorId = randomUUID();
  log.error({ err, errorId }, 'internal error');
  return { code: ErrorCode.INTERNAL_SERVER_ERROR, message: `Internal error (id: ${errorId})`, errorId };
}

/** Wraps an AppError as a GraphQLError with `extensions.code`. */
export function toGraphQLError(err: AppError): GraphQLError {
  return new GraphQLError(err.message, {
    extensions: { code: err.code, ...(err.details ? { details: err.details } : {}) },
  });
}

/** PostgreSQL error codes translated where queries run. */
export function translatePgError(err: unknown, what: string): never {
  const code = (err as { code?: string; cause?: { code?: string } }).code ?? (err as { cause?: { code?: string } }).cause?.code;
  if (code === '23505') throw conflict(`${what} already exists`);
  if (code === '23503') throw conflict(`${what} is referenced by other records or references a missing one`);
  if (code === '22P02' || code === '22003' || code === '22007' || code === '22008') throw badInput(`invalid value for ${what}`);
  throw err;
}

