import type { ServerResponse } from 'node:http';
import { toSafeError } from '../errors';
import type { RouteContext } from '../server/routes';
import { EnosCode, EnosError, enosErrorOf, sendEnosError } from './envelope';

/** Who and what a refused request was about, for the log line an operator reads. */
export interface RefusalSubject {
  /** The caller's access key, once authenticated. */
  readonly accessKey?: string | undefined;
  /** The devices the request named (from its body; query parameters are read here). */
  readonly devices?: readonly Readonly<Record<string, string>>[] | undefined;
}

/** The device a query string names, as given (assetId, or productKey and deviceKey). */
function deviceOfQuery(url: URL): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['assetId', 'productKey', 'deviceKey']) {
    const v = url.searchParams.get(k);
    if (v) out[k] = v.slice(0, 128);
  }
  return out;
}

/**
 * Answers a failed shim request with the EnOS envelope: an {@link EnosError} as it is, an
 * AppError through its code, anything else masked ("Internal error (id: X)") and logged.
 * Every refusal is logged at info with its code, route, organisation and device, since a
 * device maker's failing call is what an operator is asked about; server faults at warn.
 */
export function sendShimError(res: ServerResponse, rc: RouteContext, e: unknown, subject: RefusalSubject = {}): void {
  let err: EnosError;
  if (e instanceof EnosError) err = e;
  else {
    const safe = toSafeError(e, rc.log);
    err = safe.code === 'INTERNAL_SERVER_ERROR' ? new EnosError(EnosCode.INTERNAL, safe.message, 500) : enosErrorOf([{ message: safe.message, extensions: { code: safe.code, ...(safe.details ? { details: safe.details } : {}) } }]);
  }
  const fields = {
    code: err.code,
    msg: err.message,
    status: err.httpStatus,
    path: rc.url.pathname,
    action: rc.url.searchParams.get('action')?.slice(0, 64),
    orgId: rc.url.searchParams.get('orgId')?.slice(0, 128),
    ...deviceOfQuery(rc.url),
    ...(subject.accessKey ? { accessKey: subject.accessKey } : {}),
    ...(subject.devices?.length ? { devices: subject.devices } : {}),
  };
  if (err.httpStatus >= 500) rc.log.warn(fields, 'enos request failed');
  else rc.log.info(fields, 'enos request refused');
  if (res.headersSent) return void res.destroy();
  sendEnosError(res, rc.requestId, err);
}
