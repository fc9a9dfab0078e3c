import type { ServerResponse } from 'node:http';
import { findAppError, toSafeError } from '../errors';
import { findLinkedFile } from '../files/file-service';
import { receivePresignedUpload } from '../files/presigned-upload';
import { findLinkedFirmware, firmwareStore } from '../files/firmware';
import { FILE_LINK_PATH, type FileLinkClaims, type FileLinkPurpose } from '../files/file-url';
import { sendJson } from './http-util';
import type { Route, RouteContext } from './routes';
import { sendFile } from './send-file';

/** Envelope codes of link answers (the EnOS connection-service set). */
const CODE_OF_STATUS: Readonly<Record<number, number>> = { 400: 99400, 403: 99403, 404: 99404, 409: 99409, 410: 99410, 413: 1008 };

/** Answers a refused link request with the EnOS envelope and logs it (at info: a device's failing call). */
export function sendLinkError(res: ServerResponse, rc: RouteContext, e: unknown, claims?: FileLinkClaims): void {
  if (res.headersSent) return void res.destroy();
  const app = findAppError(e);
  const safe = app ?? toSafeError(e, rc.log);
  const status = app ? app.status : 500;
  const code = CODE_OF_STATUS[status] ?? 99500;
  const fields = { code, msg: safe.message, status, path: FILE_LINK_PATH, purpose: claims?.purpose, orgId: claims?.orgId, ownerId: claims?.ownerId, fileId: claims?.fileId };
  if (status >= 500) rc.log.warn(fields, 'file link request failed');
  else rc.log.info(fields, 'file link request refused');
  sendJson(res, status, { code, msg: safe.message, requestId: rc.requestId, data: null });
}

/** The claims of the route's token for `purpose`; a refusal answer (403) when it is forged, altered, for another purpose or expired. */
export function claimsOfLink(res: ServerResponse, rc: RouteContext, ...purposes: FileLinkPurpose[]): FileLinkClaims | undefined {
  const token = rc.url.pathname.slice(FILE_LINK_PATH.length);
  let claims: ReturnType<typeof rc.deps.fileLinks.verify> = 'invalid';
  for (const purpose of purposes) {
    claims = rc.deps.fileLinks.verify(token, purpose);
    if (claims !== 'invalid') break;
  }
  if (typeof claims === 'object') return claims;
  const msg = claims === 'expired' ? 'the link has expired: ask for a new one' : 'the link is not valid';
  rc.log.info({ code: 99403, msg, status: 403, path: FILE_LINK_PATH, purposes }, 'file link request refused');
  sendJson(res, 403, { code: 99403, msg, requestId: rc.requestId, data: null });
  return undefined;
}

/**
 * `GET /signed-files/<token>`: the bytes of the device file a getDownloadUrl answer names,
 * without a token (the link is the credential), with Range. 409 while a presigned upload is
 * pending, 410 once it lapsed, 404 once the file is deleted.
 */
export const signedFileRoutes: Route[] = [
  {
    method: 'GET',
    path: `${FILE_LINK_PATH}*`,
    async handle(req, res, rc) {
      const claims = claimsOfLink(res, rc, 'download', 'ota');
      if (!claims) return;
      try {
        if (claims.purpose === 'ota') {
          const fw = await findLinkedFirmware(rc.deps, claims.orgId, claims.ownerId, claims.fileId);
          return await sendFile(rc.deps, req, res, { ...fw, contentType: 'application/octet-stream' }, firmwareStore(rc.deps));
        }
        const file = await findLinkedFile(rc.deps, claims.orgId, claims.ownerId, claims.fileId);
        await sendFile(rc.deps, req, res, file);
      } catch (e) {
        sendLinkError(res, rc, e, claims);
      }
    },
  },
  {
    // The uploadUrl of a Lark (presigned) upload: the raw bytes of one announced file, once.
    method: 'PUT',
    path: `${FILE_LINK_PATH}*`,
    async handle(req, res, rc) {
      const claims = claimsOfLink(res, rc, 'upload');
      if (!claims) return;
      try {
        const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
        const stored = await receivePresignedUpload(rc.deps, claims, req, Number.isSafeInteger(declared) ? declared : undefined);
        rc.log.info({ orgId: claims.orgId, deviceId: claims.ownerId, uri: stored.uri, sizeBytes: stored.sizeBytes }, 'presigned file upload stored');
        sendJson(res, 200, { code: 0, msg: 'OK', requestId: rc.requestId, data: { fileUri: stored.uri, sizeBytes: stored.sizeBytes, md5: stored.md5 } });
      } catch (e) {
        // The rest of a refused body is not read: close the connection rather than drain it.
        res.setHeader('connection', 'close');
        sendLinkError(res, rc, e, claims);
      }
    },
  },
];
