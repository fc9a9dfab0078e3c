import type { ServerResponse } from 'node:http';
import { toSafeError } from '../errors';
import type { RouteContext } from '../server/routes';
import { EnosCode, EnosError, enosErrorOf, sendEnosError } from './envelope';

/**
 * Answers a failed shim request with the EnOS envelope: an {@link EnosError} as it is, an
 * AppError through its code, anything else masked ("Internal error (id: X)") and logged.
 */
export function sendShimError(res: ServerResponse, rc: RouteContext, e: unknown): void {
  let err: EnosError;
  if (e instanceof EnosError) err = e;
  else {
    const safe = toSafeError(e, rc.log);
    err = safe.code === 'INTERNAL_SERVER_ERROR' ? new EnosError(EnosCode.INTERNAL, safe.message, 500) : enosErrorOf([{ message: safe.message, extensions: { code: safe.code, ...(safe.details ? { details: safe.details } : {}) } }]);
  }
  if (err.httpStatus >= 500) rc.log.warn({ code: err.code, msg: err.message }, 'enos request failed');
  else rc.log.debug({ code: err.code, msg: err.message }, 'enos request refused');
  if (res.headersSent) return void res.destroy();
  sendEnosError(res, rc.requestId, err);
}
