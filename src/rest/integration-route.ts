import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Upload } from 'graphql-upload-minimal';
import { spoolRoot } from '../files/spool-dir';
import type { Route, RouteContext } from '../server/routes';
import { collectLocalRefs, deviceOfItem, INTEGRATION_ACTIONS, isIntegrationAction, parseEnosMessage, type EnosMessage, type IntegrationAction } from './enos-message';
import { badRequest, EnosCode, EnosError, enosErrorOf, sendEnvelope } from './envelope';
import { readIntegrationParts, type IntegrationParts, type SpooledFile } from './multipart';
import { authenticateIngest, confirmedAuthentication, queryParam, requireOrg, type IngestAuthentication } from './request';
import { linkBase } from '../server/link-base';
import { sendShimError } from './shim-error';

const RESULT = 'accepted rejected errors { index identifier code reason } files { name uri uploadPath }';

/** The ingest mutation each action runs (the same operations GraphQL clients call). */
const DOCUMENTS: Readonly<Record<IntegrationAction, string>> = {
  postMeasurepoint: `mutation EnosPostMeasurepoint($items: [PointsItemInput!]!, $channel: Channel!, $files: [FileInput!], $announcedFiles: [AnnouncedFileInput!]) {
  result: postMeasurePoints(items: $items, channel: $channel, files: $files, announcedFiles: $announcedFiles) { ${RESULT} } }`,
  postAttribute: `mutation EnosPostAttribute($items: [AttributesItemInput!]!, $files: [FileInput!], $announcedFiles: [AnnouncedFileInput!]) {
  result: postAttributes(items: $items, files: $files, announcedFiles: $announcedFiles) { ${RESULT} } }`,
  postEvent: `mutation EnosPostEvent($items: [EventsItemInput!]!, $channel: Channel!, $files: [FileInput!], $announcedFiles: [AnnouncedFileInput!]) {
  result: postEvents(items: $items, channel: $channel, files: $files, announcedFiles: $announcedFiles) { ${RESULT} } }`,
};

interface IngestResultShape {
  readonly accepted: number;
  readonly rejected: number;
  readonly errors: readonly { index: number; identifier?: string | null; code: string; reason: string }[];
  readonly files: readonly { name: string; uri: string; uploadPath?: string | null }[];
}

/** A spooled file part as a graphql-upload `Upload`, exactly what a GraphQL multipart request yields. */
function toUpload(f: SpooledFile): Upload {
  const upload = new Upload() as Upload & { resolve(file: unknown): void };
  upload.resolve({ filename: f.name, fieldName: 'enos-file', mimetype: f.mimeType, encoding: '7bit', createReadStream: () => createReadStream(f.path) });
  return upload;
}

/**
 * The files a Lark request announces: each `local://` name with its `files` entry, whose
 * `fileLength` and `md5` the later PUT must match.
 */
function announcedFilesOf(msg: EnosMessage, refs: ReadonlySet<string>): Record<string, unknown>[] {
  return [...refs].map((name) => {
    const entry = msg.files[name];
    if (!entry) throw badRequest(`files has no entry for local://${name}`);
    const size = Number(entry['fileLength']);
    if (!/^\d+$/.test(String(entry['fileLength'] ?? '')) || !Number.isSafeInteger(size)) throw badRequest(`files.${name}.fileLength must be the file size in bytes`);
    const md5 = String(entry['md5'] ?? '');
    if (!/^[0-9a-fA-F]{32}$/.test(md5)) throw badRequest(`files.${name}.md5 must be the lowercase hex MD5 of the file`);
    return { name, sizeBytes: size, md5: md5.toLowerCase(), originalName: entry['originalFilename'] || name };
  });
}

/** Translates a parsed request into the ingest mutation's variables (Lark: files announced, not attached). */
export function buildIngestVariables(action: IntegrationAction, msg: EnosMessage, files: readonly SpooledFile[], lark = false): Record<string, unknown> {
  const spec = INTEGRATION_ACTIONS[action];
  const items = msg.params.map((item, i) => {
    const payload = item[spec.payloadKey];
    if (!payload || typeof payload !== 'object' || Array.isArray(payload)) throw badRequest(`params[${i}].${spec.payloadKey} must be an object`);
    const out: Record<string, unknown> = { ...deviceOfItem(item, i) };
    if (spec.hasTime) {
      if (item['time'] === undefined || item['time'] === null) throw badRequest(`params[${i}].time is required (epoch milliseconds)`);
      out['time'] = item['time'];
    }
    out[action === 'postEvent' ? 'events' : 'values'] = payload;
    return out;
  });
  if (!items.length) throw badRequest('params must hold at least one item');

  const refs = new Set<string>();
  for (const item of msg.params) collectLocalRefs(item[spec.payloadKey], refs);
  for (const f of files) if (!refs.has(f.name)) throw badRequest(`the enos-file part ${f.name} is not referenced by any local:// value`);

  const vars: Record<string, unknown> = { items };
  if (lark) {
    if (files.length) throw badRequest('in Lark mode (useLark=true) send no enos-file parts: PUT each file to its uploadUrl');
    if (refs.size) vars['announcedFiles'] = announcedFilesOf(msg, refs);
  }
  if (spec.hasChannel) vars['channel'] = msg.realtime ? 'REALTIME' : 'OFFLINE';
  if (files.length) {
    vars['files'] = files.map((f) => {
      const entry = msg.files[f.name] ?? {};
      const input: Record<string, unknown> = { name: f.name, file: toUpload(f), originalName: entry['originalFilename'] || f.name };
      // The client's own MD5 claim is checked by the mutation, as for GraphQL callers.
      if (entry['md5']) input['md5'] = entry['md5'];
      return input;
    });
  }
  return vars;
}

/** The devices of a refused request for the log: those of the refused items, else the first ones named. */
function refusedDevices(message: EnosMessage | undefined, e: unknown): Record<string, string>[] | undefined {
  if (!message) return undefined;
  const listed = e instanceof EnosError && Array.isArray(e.data?.['errors']) ? (e.data['errors'] as { index?: unknown }[]).map((x) => Number(x.index)) : message.params.map((_, i) => i);
  const out: Record<string, string>[] = [];
  for (const i of new Set(listed)) {
    const item = message.params[i];
    if (!item || out.length >= 10) continue;
    try {
      out.push(deviceOfItem(item, i));
    } catch {
      out.push({ item: String(i) });
    }
  }
  return out;
}

async function handleIntegration(req: IncomingMessage, res: ServerResponse, rc: RouteContext): Promise<void> {
  const { config } = rc.deps;
  let parts: IntegrationParts | undefined;
  let accessKey: string | undefined;
  let message: EnosMessage | undefined;
  let auth: IngestAuthentication | undefined;
  try {
    auth = await authenticateIngest(req, rc);
    let access = auth.access;
    accessKey = access.caller?.accessKey;
    requireOrg(access, rc.url);
    const action = queryParam(rc.url, 'action');
    if (!isIntegrationAction(action)) throw badRequest(`Invalid Argument action: expected postMeasurepoint, postAttribute or postEvent`);
    const lark = queryParam(rc.url, 'useLark') === 'true';
    parts = await readIntegrationParts(req, {
      messageMaxBytes: config.ENOS_MESSAGE_MAX_BYTES,
      fileMaxBytes: config.UPLOAD_MAX_BYTES,
      maxFiles: config.UPLOAD_MAX_FILES,
      tmpDir: spoolRoot(config),
    }, rc);
    message = parseEnosMessage(parts.message);
    const variables = buildIngestVariables(action, message, parts.files, lark);
    let outcome = await rc.deps.executeGraphQL(DOCUMENTS[action], variables, access, rc.requestId);
    // A remembered caller that no longer holds: nothing was stored; run again on the caller as it is now.
    const fresh = await confirmedAuthentication(req, rc, auth);
    if (fresh) {
      auth = { access: fresh, speculation: null };
      access = fresh;
      requireOrg(access, rc.url);
      outcome = await rc.deps.executeGraphQL(DOCUMENTS[action], variables, access, rc.requestId);
    }
    if (outcome.errors?.length) throw enosErrorOf(outcome.errors, EnosCode.DEVICE_NOT_FOUND);
    const result = outcome.data?.['result'] as IngestResultShape | undefined;
    if (!result) throw enosErrorOf([]);
    if (result.rejected > 0) throw enosErrorOf([{ message: 'rejected', extensions: { code: 'BAD_USER_INPUT', details: { errors: result.errors } } }], EnosCode.DEVICE_NOT_FOUND);
    // The SDK ignores uriInfoList outside Lark mode; curl users learn their file URIs from it.
    // In Lark mode the SDK PUTs each file to its uploadUrl with these headers plus
    // Content-Type: application/octet-stream.
    const base = lark ? linkBase(req, config) : '';
    const data = result.files.length
      ? { uriInfoList: result.files.map((f) => (f.uploadPath ? { fileUri: f.uri, uploadUrl: `${base}${f.uploadPath}`, filename: f.name, headers: {} } : { fileUri: f.uri, filename: f.name })) }
      : null;
    // NOTE: checked first: the request's child logger is made when first used (app.ts).
    if (rc.deps.log.isLevelEnabled('info')) rc.log.info({ action, lark, items: variables['items'] instanceof Array ? variables['items'].length : 0, files: result.files.length, accepted: result.accepted }, 'enos integration accepted');
    sendEnvelope(res, rc.requestId, EnosCode.OK, 'OK', data);
  } catch (e) {
    // An answer given on a remembered caller must hold too: when the caller changed, the answer is
    // the one the checked token gets (401 when it is no longer valid).
    let answer = e;
    if (auth) answer = await confirmedAuthentication(req, rc, auth).then(() => e, (fresh: unknown) => fresh);
    sendShimError(res, rc, answer, { accessKey, devices: refusedDevices(message, answer) });
  } finally {
    await parts?.dispose();
  }
}

/** `POST /connect-service/v2.1/integration?action=postMeasurepoint|postAttribute|postEvent&orgId=...`. */
export const integrationRoutes: readonly Route[] = [{ method: 'POST', path: '/connect-service/v2.1/integration', handle: handleIntegration }];
