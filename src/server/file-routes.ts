import { toSafeError, httpStatusOf } from '../errors';
import { findFile } from '../files/file-service';
import { uriFromDownloadPath } from '../files/file-uri';
import { authenticate, tokenFromHeaders } from './authenticate';
import { sendJson } from './http-util';
import { sendFile } from './send-file';
import type { Route } from './routes';

const PREFIX = '/files/';

/**
 * `GET /files/<key>/<name>` downloads `enos-connect://<key>/<name>` (ASSET_READ on its device,
 * token in `Authorization: Bearer` or `apim-accesstoken`), with Range support. Files of other
 * organisations, deleted or never committed are 404.
 */
export const fileRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: '/files/*',
    async handle(req, res, rc) {
      try {
        const access = await authenticate(rc.deps, tokenFromHeaders(req.headers));
        if (!access.caller) return sendJson(res, 401, { errors: [{ message: 'a valid access token is required', extensions: { code: 'UNAUTHENTICATED' } }] });
        const uri = uriFromDownloadPath(rc.url.pathname.slice(PREFIX.length));
        if (!uri) return sendJson(res, 404, { errors: [{ message: 'file not found', extensions: { code: 'NOT_FOUND' } }] });
        const file = await findFile(rc.deps, access, 'ASSET_READ', uri);
        await sendFile(rc.deps, req, res, file);
      } catch (e) {
        if (res.headersSent) return void res.destroy();
        const safe = toSafeError(e, rc.log);
        sendJson(res, httpStatusOf[safe.code], { errors: [{ message: safe.message, extensions: { code: safe.code } }] });
      }
    },
  },
];
