import type { ServerResponse } from 'node:http';
import { sendJson } from '../server/http-util';

/**
 * Envelope codes of the EnOS connection service and IoT hub that the shim answers with
 * (reference 2.7). `OK` is the only success.
 */
export const EnosCode = {
  OK: 0,
  /** Malformed request: parameters, multipart body, JSON, file parts. */
  BAD_REQUEST: 99400,
  /** The caller's service account lacks the permission on this resource. */
  FORBIDDEN: 99403,
  /** Unknown (or another organisation's) organisation, file or device on file routes. */
  NOT_FOUND: 99404,
  /** A file announced for a presigned (Lark) upload whose bytes have not arrived (Tributary's code). */
  UPLOAD_PENDING: 99409,
  /** A file announced for a presigned upload whose link lapsed without an upload (Tributary's code). */
  UPLOAD_EXPIRED: 99410,
  /** Too many requests (not an EnOS code; EnOS documents no rate limits). */
  RATE_LIMITED: 99429,
  INTERNAL: 99500,
  /** The service cannot serve now (its database is unreachable); retry after Retry-After (not an EnOS code). */
  UNAVAILABLE: 99503,
  /** A value does not match the thing model. */
  MODEL_VIOLATION: 1204,
  /** The device of an uploaded item does not exist. */
  DEVICE_NOT_FOUND: 1257,
  /** The enos-message part or a file is too large. */
  TOO_LARGE: 1008,
  /** The device is disabled. */
  DEVICE_DISABLED: 723,
} as const;
export type EnosCode = (typeof EnosCode)[keyof typeof EnosCode];

/** TSDB service codes (reference 6.3). */
export const TsdbCode = {
  OK: 0,
  BAD_REQUEST: 80400,
  FORBIDDEN: 80401,
  INTERNAL: 80500,
  /** Too many requests (not an EnOS code). */
  RATE_LIMITED: 80429,
  /** The database is unreachable; retry after Retry-After (not an EnOS code). */
  UNAVAILABLE: 80503,
} as const;

/** A refused shim request: envelope code, message, HTTP status, optional `data`. */
export class EnosError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly httpStatus = 200,
    readonly data: Readonly<Record<string, unknown>> | null = null,
  ) {
    super(message);
    this.name = 'EnosError';
  }
}

/** Shorthand for a 99400 refusal. */
export const badRequest = (message: string) => new EnosError(EnosCode.BAD_REQUEST, message);

/**
 * Sends `{code, msg, requestId, data}`. `data` is always an object or null: the SDK maps it
 * onto a class and fails on an array or a string.
 */
export function sendEnvelope(res: ServerResponse, requestId: string, code: number, msg: string, data: Readonly<Record<string, unknown>> | null = null, httpStatus = 200, headers: Record<string, string> = {}): void {
  sendJson(res, httpStatus, { code, msg, requestId, data }, headers);
}

/** Sends an {@link EnosError} as an envelope. */
export function sendEnosError(res: ServerResponse, requestId: string, e: EnosError): void {
  sendEnvelope(res, requestId, e.code, e.message, e.data, e.httpStatus);
}

/** The part of a formatted GraphQL error the envelope mapping reads. */
export interface GraphQLErrorLike {
  readonly message: string;
  readonly extensions?: Readonly<Record<string, unknown>> | undefined;
}

/** One item error as the ingest mutations report it in `extensions.details.errors`. */
export interface ItemError {
  readonly index: number;
  readonly identifier?: string | null;
  readonly code: string;
  readonly reason: string;
}

function itemErrorsOf(error: GraphQLErrorLike): ItemError[] {
  const details = error.extensions?.['details'] as { errors?: unknown } | undefined;
  const list = Array.isArray(details?.errors) ? (details.errors as unknown[]) : [];
  return list.filter((e): e is ItemError => !!e && typeof e === 'object' && typeof (e as ItemError).code === 'string');
}

/** Envelope code for one ingest item error (all-or-nothing: the first one decides). */
export function enosCodeOfItemError(code: string): number {
  switch (code) {
    case 'DEVICE_NOT_FOUND':
      return EnosCode.DEVICE_NOT_FOUND;
    case 'DEVICE_DISABLED':
      return EnosCode.DEVICE_DISABLED;
    case 'UNKNOWN_IDENTIFIER':
    case 'TYPE_MISMATCH':
      return EnosCode.MODEL_VIOLATION;
    case 'FORBIDDEN':
      return EnosCode.FORBIDDEN;
    default:
      // FILE_MISSING, FILE_INVALID, BAD_ITEM and anything new: the request itself is wrong.
      return EnosCode.BAD_REQUEST;
  }
}

/** Envelope code for a GraphQL `extensions.code`. */
export function enosCodeOfGraphQLCode(code: unknown): number {
  switch (code) {
    case 'MODEL_VIOLATION':
      return EnosCode.MODEL_VIOLATION;
    case 'NOT_FOUND':
      return EnosCode.NOT_FOUND;
    case 'FORBIDDEN':
    case 'UNAUTHENTICATED':
      return EnosCode.FORBIDDEN;
    case 'PAYLOAD_TOO_LARGE':
      return EnosCode.TOO_LARGE;
    case 'RATE_LIMITED':
      return EnosCode.RATE_LIMITED;
    case 'SERVICE_UNAVAILABLE':
      return EnosCode.UNAVAILABLE;
    case 'INTERNAL_SERVER_ERROR':
    case undefined:
      return EnosCode.INTERNAL;
    default:
      // BAD_USER_INPUT, GRAPHQL_VALIDATION_FAILED, QUERY_TOO_COMPLEX, CONFLICT, ...
      return EnosCode.BAD_REQUEST;
  }
}

/**
 * Maps the first GraphQL error of an operation onto an {@link EnosError}. Item errors
 * (`extensions.details.errors`) decide the code when present, and travel in `data.errors`
 * (the SDK ignores unknown keys inside `data`).
 */
export function enosErrorOf(errors: readonly GraphQLErrorLike[], notFoundCode: number = EnosCode.NOT_FOUND): EnosError {
  const first = errors[0];
  if (!first) return new EnosError(EnosCode.INTERNAL, 'internal error', 500);
  const items = itemErrorsOf(first);
  const gqlCode = first.extensions?.['code'];
  const firstItem = items[0];
  let code = firstItem ? enosCodeOfItemError(firstItem.code) : enosCodeOfGraphQLCode(gqlCode);
  if (code === EnosCode.NOT_FOUND) code = notFoundCode;
  const message = firstItem ? `item ${firstItem.index}${firstItem.identifier ? ` (${firstItem.identifier})` : ''}: ${firstItem.reason}` : first.message;
  const httpStatus = code === EnosCode.INTERNAL ? 500 : code === EnosCode.RATE_LIMITED ? 429 : code === EnosCode.UNAVAILABLE ? 503 : 200;
  const data = items.length ? { errors: items.map((e) => ({ index: e.index, identifier: e.identifier ?? null, code: e.code, reason: e.reason })) } : null;
  return new EnosError(code, message, httpStatus, data);
}
