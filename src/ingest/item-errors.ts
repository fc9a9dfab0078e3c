import { AppError, ErrorCode } from '../errors';

/** Why one item was refused (see IngestItemError in schema/ingest.graphql). */
export type ItemErrorCode = 'DEVICE_NOT_FOUND' | 'DEVICE_DISABLED' | 'UNKNOWN_IDENTIFIER' | 'TYPE_MISMATCH' | 'FILE_MISSING' | 'FILE_INVALID' | 'FORBIDDEN' | 'BAD_ITEM';

/** One refused item: its index in `items`, the identifier (feature or file name) concerned, a code and a reason. */
export interface ItemError {
  readonly index: number;
  readonly identifier: string | null;
  readonly code: ItemErrorCode;
  readonly reason: string;
}

/** The GraphQL error code that fits an item error (the first one names the whole refusal). */
export function requestCodeOf(code: ItemErrorCode): ErrorCode {
  switch (code) {
    case 'DEVICE_NOT_FOUND':
      return ErrorCode.NOT_FOUND;
    case 'FORBIDDEN':
      return ErrorCode.FORBIDDEN;
    case 'DEVICE_DISABLED':
      return ErrorCode.CONFLICT;
    case 'BAD_ITEM':
      return ErrorCode.BAD_USER_INPUT;
    case 'UNKNOWN_IDENTIFIER':
    case 'TYPE_MISMATCH':
    case 'FILE_MISSING':
    case 'FILE_INVALID':
      return ErrorCode.MODEL_VIOLATION;
    default: {
      const never: never = code;
      return never;
    }
  }
}

/**
 * The ALL_OR_NOTHING refusal: `extensions.code` fits the first error and `extensions.details`
 * is `{ errors: [{index, identifier, code, reason}, ...] }` (what the REST shim maps to EnOS codes).
 */
export function refusal(errors: readonly ItemError[]): AppError {
  const first = errors[0]!;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return new AppError(requestCodeOf(first.code), `item ${first.index}: ${first.reason}${more}`, { errors: errors.slice(0, 100) });
}
