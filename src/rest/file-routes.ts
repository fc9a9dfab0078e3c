import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import parseRange from 'range-parser';
import { findAppError } from '../errors';
import type { Access } from '../auth/permissions';
import { findFile, readFileRange, type StoredFile } from '../files/file-service';
import { FILE_LINK_PATH, type FileLinkClaims } from '../files/file-url';
import { findFirmwareForDevice, firmwareStore } from '../files/firmware';
import { linkBase } from '../server/link-base';
import { sendJson } from '../server/http-util';
import type { Route, RouteContext } from '../server/routes';
import { contentDisposition } from './content-disposition';
import { badRequest, EnosCode, EnosError, enosErrorOf, sendEnvelope } from './envelope';
import { authenticateRequest, deviceFromQuery, queryParam, requireOrg } from './request';
import { sendShimError, type RefusalSubject } from './shim-error';

const PATH = '/connect-service/v2.1/files';

/** HTTP status of a download refusal: never 2xx, since the SDK takes any 2xx body for the file. */
function downloadStatusOf(e: EnosError): number {
  if (e.httpStatus !== 200) return e.httpStatus;
  switch (e.code) {
    case EnosCode.NOT_FOUND:
      return 404;
    case EnosCode.FORBIDDEN:
      return 403;
    case EnosCode.UPLOAD_PENDING:
      return 409;
    case EnosCode.UPLOAD_EXPIRED:
      return 410;
    default:
      return 400;
  }
}

/** Maps a files-service failure (AppError NOT_FOUND/FORBIDDEN/...) onto the envelope. */
function enosErrorOfService(e: unknown): unknown {
  const app = findAppError(e);
  if (!app) return e;
  if (app.details?.['state'] === 'UPLOAD_PENDING') return new EnosError(EnosCode.UPLOAD_PENDING, app.message, 409);
  if (app.details?.['state'] === 'UPLOAD_EXPIRED') return new EnosError(EnosCode.UPLOAD_EXPIRED, app.message, 410);
  return enosErrorOf([{ message: app.code === 'NOT_FOUND' ? 'file not found' : app.message, extensions: { code: app.code } }]);
}

function sendDownloadError(res: ServerResponse, rc: RouteContext, e: unknown, subject: RefusalSubject): void {
  const err = e instanceof EnosError ? e : (enosErrorOfService(e) as unknown);
  if (err instanceof EnosError) return sendShimError(res, rc, new EnosError(err.code, err.message, downloadStatusOf(err), err.data), subject);
  sendShimError(res, rc, err, subject);
}

/**
 * The bytes of a file: 200 with Accept-Ranges for the whole file, 206 with Content-Range and an
 * exact Content-Length for one range, 416 (with the envelope) for an unsatisfiable or malformed
 * one. Never chunked: the SDK's ranged download parses Content-Length as an int.
 */
async function sendFileBytes(req: IncomingMessage, res: ServerResponse, rc: RouteContext, file: Pick<StoredFile, 'sizeBytes' | 'originalName' | 'fileName' | 'md5'>, read: (start: number, end: number) => Readable): Promise<void> {
  const size = file.sizeBytes;
  const header = req.headers['range'];
  let start = 0;
  let end = size - 1;
  let status = 200;
  if (typeof header === 'string' && header.trim()) {
    const ranges = parseRange(size, header, { combine: true });
    if (ranges === -1 || ranges === -2 || ranges.type !== 'bytes') {
      const msg = ranges === -2 ? `malformed Range header: ${header.slice(0, 60)}` : `range not satisfiable for a file of ${size} bytes`;
      return sendJson(res, 416, { code: EnosCode.BAD_REQUEST, msg, requestId: rc.requestId, data: null }, { 'content-range': `bytes */${size}`, 'accept-ranges': 'bytes' });
    }
    // NOTE: several disjoint ranges would need multipart/byteranges, which no EnOS client asks for;
    // RFC 9110 lets a server answer them with the whole file.
    if (ranges.length === 1) {
      start = ranges[0]!.start;
      end = ranges[0]!.end;
      status = 206;
    }
  }
  const length = size === 0 ? 0 : end - start + 1;
  const headers: Record<string, string | number> = {
    'content-type': 'application/octet-stream',
    'content-length': length,
    'accept-ranges': 'bytes',
    'content-disposition': contentDisposition(file.originalName || file.fileName),
    etag: `"${file.md5}"`,
    'x-content-type-options': 'nosniff',
  };
  // Content-MD5 describes the body sent (RFC 1864), so only a whole body carries it; the
  // ETag names the whole file and stays on ranges.
  if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${size}`;
  else headers['content-md5'] = file.md5;
  res.writeHead(status, headers);
  if (req.method === 'HEAD' || length === 0) return void res.end();
  await pipeline(read(start, end), res);
}

/** What a download or getDownloadUrl request names: a device's file, or a firmware package of its product (`category=ota`). */
async function findDownloadTarget(rc: RouteContext, access: Access) {
  const fileUri = queryParam(rc.url, 'fileUri');
  if (!fileUri) throw badRequest('Invalid Argument fileUri: the fileUri parameter is required');
  const device = deviceFromQuery(rc.url);
  const category = queryParam(rc.url, 'category') ?? 'feature';
  if (category !== 'feature' && category !== 'ota') throw badRequest('Invalid Argument category: expected feature or ota');
  if (category === 'ota') return { kind: 'ota', firmware: await findFirmwareForDevice(rc.deps, access, fileUri, device) } as const;
  return { kind: 'feature', file: await findFile(rc.deps, access, 'ASSET_READ', fileUri, device) } as const;
}

/** The link claims for what a getDownloadUrl request names. */
async function linkOfRequest(rc: RouteContext, access: Access): Promise<Omit<FileLinkClaims, 'exp'>> {
  const target = await findDownloadTarget(rc, access);
  if (target.kind === 'ota') return { purpose: 'ota', orgId: target.firmware.orgId, ownerId: target.firmware.productId, fileId: target.firmware.id };
  return { purpose: 'download', orgId: target.file.orgId, ownerId: target.file.deviceId, fileId: target.file.id };
}

/**
 * `action=getDownloadUrl`: `{"code":0,"msg":"OK","data":"<signed url>"}`. The SDK reads this
 * answer whatever the HTTP status and declares `requestId` an int, so it is left out, errors
 * included (a UUID there would make the SDK fail with its own client error).
 */
async function answerDownloadUrl(req: IncomingMessage, res: ServerResponse, rc: RouteContext): Promise<void> {
  let access: Access | undefined;
  try {
    access = await authenticateRequest(req, rc);
    requireOrg(access, rc.url, 404);
    const claims = await linkOfRequest(rc, access);
    const { token } = rc.deps.fileLinks.sign(claims);
    sendJson(res, 200, { code: EnosCode.OK, msg: 'OK', data: `${linkBase(req, rc.deps.config)}${FILE_LINK_PATH}${token}` });
  } catch (e) {
    const err = e instanceof EnosError ? e : enosErrorOfService(e);
    if (!(err instanceof EnosError)) throw e;
    rc.log.info({ code: err.code, msg: err.message, path: rc.url.pathname, action: 'getDownloadUrl', orgId: queryParam(rc.url, 'orgId'), accessKey: access?.caller?.accessKey, assetId: queryParam(rc.url, 'assetId'), productKey: queryParam(rc.url, 'productKey'), deviceKey: queryParam(rc.url, 'deviceKey') }, 'enos request refused');
    sendJson(res, downloadStatusOf(err), { code: err.code, msg: err.message, data: null });
  }
}

/** `GET .../files?action=download&orgId&fileUri&category&(assetId | productKey&deviceKey)`. */
async function handleDownload(req: IncomingMessage, res: ServerResponse, rc: RouteContext): Promise<void> {
  if (queryParam(rc.url, 'action') === 'getDownloadUrl') return answerDownloadUrl(req, res, rc);
  let accessKey: string | undefined;
  try {
    const access = await authenticateRequest(req, rc);
    accessKey = access.caller?.accessKey;
    requireOrg(access, rc.url, 404);
    const action = queryParam(rc.url, 'action');
    if (action !== 'download') throw badRequest('Invalid Argument action: expected download (GET) or delete (POST)');
    const target = await findDownloadTarget(rc, access);
    if (target.kind === 'ota') {
      const fw = target.firmware;
      const store = firmwareStore(rc.deps);
      return await sendFileBytes(req, res, rc, fw, (start, end) => store.read(fw, start, end));
    }
    const file = target.file;
    await sendFileBytes(req, res, rc, file, (start, end) => readFileRange(rc.deps, file, start, end));
  } catch (e) {
    sendDownloadError(res, rc, e, { accessKey });
  }
}

/** `POST .../files?action=delete&orgId&fileUri&(assetId | productKey&deviceKey)`, empty body: the deleteFile mutation. */
async function handleDelete(req: IncomingMessage, res: ServerResponse, rc: RouteContext): Promise<void> {
  let accessKey: string | undefined;
  try {
    const access = await authenticateRequest(req, rc);
    accessKey = access.caller?.accessKey;
    requireOrg(access, rc.url);
    if (queryParam(rc.url, 'action') !== 'delete') throw badRequest('Invalid Argument action: expected delete (POST) or download (GET)');
    const fileUri = queryParam(rc.url, 'fileUri');
    if (!fileUri) throw badRequest('Invalid Argument fileUri: the fileUri parameter is required');
    const device = deviceFromQuery(rc.url);
    const outcome = await rc.deps.executeGraphQL('mutation EnosDeleteFile($device: DeviceRefInput!, $uri: String!) { deleteFile(device: $device, uri: $uri) }', { device, uri: fileUri }, access, rc.requestId);
    if (outcome.errors?.length) throw enosErrorOf(outcome.errors.map((e) => (e.extensions?.['code'] === 'NOT_FOUND' ? { ...e, message: 'file not found' } : e)));
    sendEnvelope(res, rc.requestId, EnosCode.OK, 'OK', null);
  } catch (e) {
    sendShimError(res, rc, e, { accessKey });
  }
}

/** The EnOS file routes: download (GET, with Range) and delete (POST). */
export const enosFileRoutes: readonly Route[] = [
  { method: 'GET', path: PATH, handle: handleDownload },
  { method: 'POST', path: PATH, handle: handleDelete },
];
