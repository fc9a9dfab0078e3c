import type { IncomingMessage, ServerResponse } from 'node:http';
import { getToken, parseTokenRequest, refreshToken, TokenError, TokenStatus, type TokenRequest } from '../auth/tokens';
import { databaseUnavailable, isDatabaseUnavailable } from '../errors';
import { readBody, sendJson, clientAddress } from '../server/http-util';
import type { Route, RouteContext } from '../server/routes';

const BUSINESS = 'apim-token-service';
/** Token bodies are tiny; anything larger is refused before parsing. */
const TOKEN_BODY_MAX_BYTES = 16 * 1024;

function reply(res: ServerResponse, status: number, msg: string, data: unknown, httpStatus = 200, headers: Record<string, string> = {}) {
  // NOTE: the EnOS SDK ignores the HTTP status of token calls and reads only `status`/`data`.
  sendJson(res, httpStatus, { status, msg, business: BUSINESS, data }, headers);
}

function tokenRoute(path: string, refresh: boolean): Route {
  return {
    method: 'POST',
    path,
    async handle(req: IncomingMessage, res: ServerResponse, rc: RouteContext) {
      const { deps } = rc;
      const ipKey = `ip:${clientAddress(req)}`;
      let parsed: TokenRequest | undefined;
      try {
        let body: unknown;
        try {
          const raw = await readBody(req, TOKEN_BODY_MAX_BYTES);
          body = JSON.parse(raw.toString('utf8') || 'null');
        } catch {
          throw new TokenError(TokenStatus.INVALID_PARAMETER, 'body must be a JSON object');
        }
        parsed = parseTokenRequest(body, refresh);
        // NOTE: the signature is verified before any throttle is consulted: a correct one always
        // succeeds, however many failures others caused for this AccessKey or this address.
        // Only failures are throttled; secrets are 192-bit random, so answering a throttled
        // failure after verifying it tells a guesser nothing useful.
        const issued = await (refresh ? refreshToken : getToken)(deps.db, deps.box, deps.tokenSettings, parsed);
        rc.log.info({ appKey: parsed.appKey, refresh }, 'token issued');
        return reply(res, TokenStatus.OK, 'SUCCESS', issued);
      } catch (e) {
        if (e instanceof TokenError) {
          const wait = deps.tokenFailures.recordFailure(parsed ? [ipKey, `ak:${parsed.appKey}`] : [ipKey]);
          rc.log.warn({ status: e.status, appKey: parsed?.appKey, reason: e.message, throttled: wait > 0 }, 'token refused');
          if (wait > 0) return reply(res, TokenStatus.INVALID_PARAMETER, 'too many failed token requests; retry later', null, 429, { 'retry-after': String(wait) });
          return reply(res, e.status, e.message, null);
        }
        if (isDatabaseUnavailable(e)) return reply(res, TokenStatus.INTERNAL, databaseUnavailable().message, null, 503);
        rc.log.error({ err: e }, 'token request failed');
        return reply(res, TokenStatus.INTERNAL, 'internal error', null, 500);
      }
    },
  };
}

/** EnOS-compatible token service routes. */
export const tokenRoutes: readonly Route[] = [tokenRoute('/apim-token-service/v2.0/token/get', false), tokenRoute('/apim-token-service/v2.0/token/refresh', true)];
