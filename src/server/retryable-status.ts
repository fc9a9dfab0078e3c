import type { GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '../errors';
import { RETRY_AFTER_S } from './http-util';

/** HTTP status of a response whose first error says the request may succeed later. */
const RETRYABLE_STATUS: Readonly<Record<string, number>> = { [ErrorCode.RATE_LIMITED]: 429, [ErrorCode.SERVICE_UNAVAILABLE]: 503 };

/**
 * The status (429 or 503) and Retry-After of a GraphQL response whose errors say that it failed
 * because of load or an unreachable database, as the REST shim answers, so that clients and
 * proxies back off and retry; null for any other response.
 */
export function retryableHead(errors: readonly GraphQLFormattedError[] | undefined): { status: number; retryAfter: string } | null {
  for (const e of errors ?? []) {
    const status = RETRYABLE_STATUS[String(e.extensions?.['code'])];
    if (status) return { status, retryAfter: String(RETRY_AFTER_S) };
  }
  return null;
}
