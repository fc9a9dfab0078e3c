import { and, eq, inArray } from 'drizzle-orm';
import type { Access } from '../auth/permissions';
import type { Config } from '../config';
import { AppError, ErrorCode, badInput } from '../errors';
import type { FileStore } from '../files/file-store';
import { discardStaged, drainUpload, drainUploads, FileRejected, reserveAnnounced, stageUpload, type StagedFile, type UploadInput } from '../files/file-upload';
import { FILE_LINK_PATH, type FileLinkSigner } from '../files/file-url';
import { concatLists } from '../lists';
import type { Logger } from '../log';
import type { NormalValue } from '../model/validate-value';
import type { Database, Db } from '../storage/db';
import { files as filesTable } from '../storage/schema/index';
import { DEVICE_TOUCH_INTERVAL_MS } from './bulk-write';
import type { Confirmation } from '../auth/speculation';
import { confirmFacts, createIngestDeviceCache, StaleCaller, StaleDevices, type IngestDeviceCache, type WriteFacts } from './remembered-facts';
import { createBatchWriter, type BatchWriter, type BatchWriterStats } from './group-commit';
import { refusal, type ItemError } from './item-errors';
import type { CompiledModel, ModelCache } from './model-cache';
import type { IngestPipeline } from './pipeline';
import { isItemError, resolveDevices, type IngestDevice, type ItemDeviceRef } from './resolve-devices';
import { dropSuperseded, type SupersededValue } from './superseded';
import type { Channel, FileRecord, IngestBatch } from './types';
import { eventParamsSpec, mapFileValues, validateItem, type IngestKind, type RawItem, type ValidItem } from './validate-items';

/** The services ingest needs (AppDeps provides them). */
export interface IngestDeps {
  readonly config: Config;
  readonly db: Db;
  /** Runs the write transactions (Database.writeTransaction). */
  readonly database: Pick<Database, 'writeTransaction'>;
  readonly log: Logger;
  readonly ingestPipeline: IngestPipeline;
  readonly fileStore: FileStore;
  readonly modelCache: ModelCache;
  /** Bounds the values being written at once, with a fair share per organisation (server/admission.ts); none: unbounded. */
  readonly valueAdmission?: ValueAdmission;
  readonly fileLinks: FileLinkSigner;
}

/** What ingest needs of an admission controller: a slot for `weight` values of `key`, or null when refused. */
export interface ValueAdmission {
  acquire(key: string, weight: number): Promise<{ release(): void } | null>;
}

/** ALL_OR_NOTHING (default, as EnOS) or PARTIAL. */
export type IngestMode = 'ALL_OR_NOTHING' | 'PARTIAL';

/** One ingest call. */
export interface IngestRequest {
  readonly kind: IngestKind;
  readonly items: readonly (RawItem & ItemDeviceRef)[];
  readonly channel: Channel;
  readonly mode: IngestMode;
  readonly files: readonly UploadInput[];
  /** Files announced for a presigned upload (their bytes come later, by PUT to a signed link). */
  readonly announced?: readonly AnnouncedFile[];
}

/** A file announced for a presigned upload. */
export interface AnnouncedFile {
  /** The name `local://<name>` references use. */
  readonly name: string;
  /** Exact size of the content to come, bytes. */
  readonly sizeBytes: number;
  /** Lowercase hex MD5 of the content to come. */
  readonly md5: string;
  readonly originalName?: string | null | undefined;
}

/** A file stored by the call. */
export interface StoredFileInfo {
  readonly name: string;
  readonly uri: string;
  readonly sizeBytes: number;
  readonly md5: string;
  /** For an announced file: the path to PUT its bytes to (single-use, signed). */
  readonly uploadPath?: string;
  readonly uploadExpiresAt?: Date;
}

/** What an ingest call stored and refused. */
export interface IngestResult {
  readonly accepted: number;
  readonly rejected: number;
  readonly errors: readonly ItemError[];
  /** Values that a later item of the request replaced (not stored, not counted in `accepted`). */
  readonly superseded: readonly SupersededValue[];
  readonly files: readonly StoredFileInfo[];
}

const LOCAL = 'local://';

/** Values (points, attributes or events) in the items of a call. */
export function countValues(kind: IngestKind, items: readonly RawItem[]): number {
  let n = 0;
  for (const it of items) {
    const m = kind === 'events' ? it.events : it.values;
    if (typeof m === 'object' && m !== null) n += Object.keys(m).length;
  }
  return n;
}

/** Validates the FILE references of valid items; returns the owner of each `local://` file. */
async function checkFileRefs(db: Db, orgId: string, valid: Map<number, ValidItem>, errors: ItemError[], names: ReadonlySet<string>): Promise<void> {
  const uris = new Set<string>();
  for (const v of valid.values()) for (const r of v.fileRefs) if (r.kind === 'uri') uris.add(r.name);
  const existing = new Map<string, number>();
  if (uris.size) {
    const rows = await db
      .select({ uri: filesTable.uri, deviceId: filesTable.deviceId })
      .from(filesTable)
      .where(and(eq(filesTable.orgId, orgId), eq(filesTable.state, 'committed'), inArray(filesTable.uri, [...uris])));
    for (const r of rows) existing.set(r.uri, r.deviceId);
  }
  const owner = new Map<string, number>();
  for (const [index, v] of valid) {
    for (const r of v.fileRefs) {
      let problem: ItemError | undefined;
      if (r.kind === 'uri') {
        if (existing.get(r.name) !== v.device.id) problem = { index, identifier: r.identifier, code: 'FILE_MISSING', reason: `${r.path}: ${r.name} is not a file of this device` };
      } else if (!names.has(r.name)) {
        problem = { index, identifier: r.identifier, code: 'FILE_MISSING', reason: `${r.path}: no file named ${r.name} in this request` };
      } else if ((owner.get(r.name) ?? v.device.id) !== v.device.id) {
        problem = { index, identifier: r.identifier, code: 'FILE_INVALID', reason: `${r.path}: file ${r.name} is already used by another device` };
      }
      if (problem) {
        errors.push(problem);
        valid.delete(index);
        break;
      }
      if (r.kind === 'local') owner.set(r.name, v.device.id);
    }
  }
}

/** Replaces `local://<name>` by the stored URIs in a valid item's records. */
function withStoredUris(v: ValidItem, model: CompiledModel, uris: ReadonlyMap<string, string>): ValidItem {
  if (!v.fileRefs.length) return v;
  const fn = (ref: string) => (ref.startsWith(LOCAL) ? (uris.get(ref.slice(LOCAL.length)) ?? ref) : ref);
  return {
    ...v,
    points: v.points.map((p) => ({ ...p, value: mapFileValues(model.points.get(p.identifier)!.type!, p.value, fn) })),
    attributes: v.attributes.map((a) => ({ ...a, value: mapFileValues(model.attributes.get(a.identifier)!.type!, a.value, fn) })),
    events: v.events.map((e) => ({ ...e, params: mapFileValues(eventParamsSpec(model.events.get(e.identifier)!.outputData), e.params, fn) as { [k: string]: NormalValue } })),
  };
}

/**
 * Validates and stores one ingest call: devices resolved in bulk in the caller's organisation
 * and checked against ASSET_WRITE (scoped grants), every value checked against the model,
 * files streamed to the store, then one transaction (processors, bulk write, files committed,
 * writers; shared with concurrent calls when the writer coalesces, see group-commit.ts) and
 * the `committed` hooks. ALL_OR_NOTHING refuses the call on the first bad item
 * (see {@link refusal}); PARTIAL stores the good items and reports the others.
 */
export async function ingest(deps: IngestDeps, access: Access, req: IngestRequest): Promise<IngestResult> {
  try {
    return await ingestOnce(deps, access, req);
  } catch (e) {
    // The answer need not wait for the rest of the body; the body must still be read.
    if (req.files.length) void drainUploads(req.files);
    throw e;
  }
}

async function ingestOnce(deps: IngestDeps, access: Access, req: IngestRequest): Promise<IngestResult> {
  const caller = access.require('ASSET_WRITE');
  const { config } = deps;
  const n = countValues(req.kind, req.items);
  if (n > config.INGEST_MAX_POINTS) throw new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `${n} values exceed INGEST_MAX_POINTS (${config.INGEST_MAX_POINTS}) per request`);
  const permit = deps.valueAdmission ? await deps.valueAdmission.acquire(`org:${caller.orgId}`, n) : { release() {} };
  if (!permit) throw new AppError(ErrorCode.RATE_LIMITED, 'too many values are being written; retry later');
  // A caller taken from memory (a deferred speculation, auth/speculation.ts) is confirmed with the
  // write; a call that cannot run again (files) confirms it first.
  const speculation = access.speculation?.deferred ? access.speculation : null;
  let callerChecks: Confirmation[] | undefined;
  try {
    if (speculation && !mayRemember(req)) {
      if (!(await speculation.holds())) throw new StaleCaller();
    } else if (speculation) callerChecks = speculation.take();
    try {
      return await ingestAdmitted(deps, access, req, caller, true, callerChecks);
    } catch (e) {
      if (!(e instanceof StaleDevices)) throw e;
      // A remembered device changed: nothing of the call was stored; run it on fresh devices.
      deviceCacheOf(deps).forget(caller.orgId, e.assetIds);
      return await ingestAdmitted(deps, access, req, caller, false, callerChecks);
    }
  } catch (e) {
    // Nothing was stored: the transport runs the operation again once the token is checked.
    if (e instanceof StaleCaller) speculation?.settle(false);
    throw e;
  } finally {
    permit.release();
  }
}

/**
 * Whether a call may take its devices from memory: every item names its device by asset id only,
 * and the call carries no file (a file is streamed before the write, so the call could not run again).
 */
function mayRemember(req: IngestRequest): boolean {
  return !req.files.length && !req.announced?.length && req.items.every((it) => !!it.assetId && !it.productKey && !it.deviceKey);
}

async function ingestAdmitted(deps: IngestDeps, access: Access, req: IngestRequest, caller: ReturnType<Access['require']>, remembered: boolean, callerChecks: readonly Confirmation[] | undefined): Promise<IngestResult> {
  const { config, db } = deps;
  if (req.files.length > config.UPLOAD_MAX_FILES) throw new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `${req.files.length} files exceed UPLOAD_MAX_FILES (${config.UPLOAD_MAX_FILES}) per request`);
  const announced = req.announced ?? [];
  if (req.files.length + announced.length > config.UPLOAD_MAX_FILES) throw new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `${req.files.length + announced.length} files exceed UPLOAD_MAX_FILES (${config.UPLOAD_MAX_FILES}) per request`);
  const names = new Set<string>();
  for (const f of [...req.files, ...announced]) {
    if (!f.name || names.has(f.name)) throw badInput(`file names must be non-empty and unique: ${JSON.stringify(f.name)}`);
    names.add(f.name);
  }
  for (const a of announced) {
    if (!/^[0-9a-fA-F]{32}$/.test(a.md5)) throw badInput(`announced file ${a.name}: md5 must be 32 hex characters`);
    if (!Number.isSafeInteger(a.sizeBytes) || a.sizeBytes < 0) throw badInput(`announced file ${a.name}: sizeBytes must be a non-negative integer`);
    if (a.sizeBytes > config.UPLOAD_MAX_BYTES) throw new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `announced file ${a.name} exceeds UPLOAD_MAX_BYTES (${config.UPLOAD_MAX_BYTES} bytes)`);
  }

  const cache = deviceCacheOf(deps);
  const cacheable = mayRemember(req);
  const known = remembered && cacheable ? cache.getAll(caller.orgId, new Set(req.items.map((it) => it.assetId!))) : null;
  const resolved = await resolveDevices(db, access, caller.orgId, req.items, 'ASSET_WRITE', known, cacheable ? (found) => cache.remember(caller.orgId, found) : undefined);
  const models = await deps.modelCache.get(db, resolved.filter((d): d is IngestDevice => !isItemError(d)).map((d) => ({ id: d.modelId, version: d.modelVersion })));
  const errors: ItemError[] = [];
  const valid = new Map<number, ValidItem>();
  const now = Date.now();
  resolved.forEach((d, index) => {
    if (isItemError(d)) return errors.push(d);
    const model = models.get(d.modelId);
    if (!model) return errors.push({ index, identifier: null, code: 'DEVICE_NOT_FOUND', reason: `the model of ${d.assetId} is gone` });
    const v = validateItem(req.kind, index, req.items[index]!, d, model, now);
    if (isItemError(v)) errors.push(v);
    else valid.set(index, v);
  });
  await checkFileRefs(db, caller.orgId, valid, errors, names);
  const sortErrors = () => errors.sort((a, b) => a.index - b.index);
  // Remembered devices are confirmed in the write transaction; an answer without one confirms them first.
  const facts: WriteFacts | undefined = known || callerChecks?.length ? { devices: known ? { orgId: caller.orgId, devices: known } : undefined, caller: callerChecks } : undefined;
  if (facts && errors.length) await confirmAlone(deps, facts);
  if (errors.length && req.mode === 'ALL_OR_NOTHING') throw refusal(sortErrors());
  const superseded = dropSuperseded([...valid.values()]);

  // Files stream in request order (a multipart body delivers them one after the other).
  const staged = new Map<string, StagedFile>();
  const discardAll = () => Promise.all([...staged.values()].map((s) => discardStaged(db, deps.fileStore, s)));
  try {
    for (const input of req.files) {
      const user = [...valid.values()].find((v) => v.fileRefs.some((r) => r.kind === 'local' && r.name === input.name));
      if (!user) {
        await drainUpload(input);
        continue;
      }
      const featureId = user.fileRefs.find((r) => r.kind === 'local' && r.name === input.name)!.featureId;
      try {
        staged.set(input.name, await stageUpload(db, deps.fileStore, config.UPLOAD_MAX_BYTES, { orgId: caller.orgId, deviceId: user.device.id, featureId }, input));
      } catch (e) {
        if (!(e instanceof FileRejected)) throw e;
        for (const [index, v] of valid) {
          const ref = v.fileRefs.find((r) => r.kind === 'local' && r.name === input.name);
          if (!ref) continue;
          errors.push({ index, identifier: ref.identifier, code: 'FILE_INVALID', reason: `file ${input.name}: ${e.reason}` });
          valid.delete(index);
        }
        if (req.mode === 'ALL_OR_NOTHING') throw refusal(sortErrors());
      }
    }
    for (const a of announced) {
      const user = [...valid.values()].find((v) => v.fileRefs.some((r) => r.kind === 'local' && r.name === a.name));
      if (!user) continue;
      const featureId = user.fileRefs.find((r) => r.kind === 'local' && r.name === a.name)!.featureId;
      staged.set(a.name, await reserveAnnounced(db, deps.fileStore, { orgId: caller.orgId, deviceId: user.device.id, featureId }, a));
    }
    // Files whose items were refused meanwhile are not kept.
    for (const [name, s] of staged) {
      if (![...valid.values()].some((v) => v.fileRefs.some((r) => r.kind === 'local' && r.name === name))) {
        await discardStaged(db, deps.fileStore, s);
        staged.delete(name);
      }
    }

    const uris = new Map([...staged].map(([name, s]) => [name, s.uri]));
    const items = [...valid.values()].map((v) => withStoredUris(v, models.get(v.device.modelId)!, uris));
    const deviceOf = new Map(items.map((v) => [v.device.id, v.device]));
    const fileRecords: FileRecord[] = [...staged.values()].map((s) => {
      const d = deviceOf.get(s.deviceId)!;
      return { deviceId: d.id, assetId: d.assetId, productKey: d.productKey, modelId: d.modelId, fileId: s.id, uri: s.uri, featureId: s.featureId, fileName: s.fileName, sizeBytes: s.sizeBytes };
    });
    const batch: IngestBatch = {
      orgId: caller.orgId,
      channel: req.channel,
      points: concatLists(items.map((v) => v.points)),
      events: concatLists(items.map((v) => v.events)),
      attributes: concatLists(items.map((v) => v.attributes)),
      files: fileRecords,
    };
    const accepted = batch.points.length + batch.events.length + batch.attributes.length;
    const touch = devicesToTouch(req.kind, items, now);
    if (!accepted && facts && !errors.length) await confirmAlone(deps, facts);
    const stored = accepted ? await batchWriterOf(deps).write(batch, touch, facts) : batch;
    if (cacheable) cache.touched(caller.orgId, req.kind, touch, now);
    for (const hook of deps.ingestPipeline.committed) {
      try {
        hook(stored);
      } catch (e) {
        deps.log.error({ err: e }, 'ingest committed hook failed');
      }
    }
    return {
      accepted,
      rejected: errors.length,
      errors: sortErrors(),
      superseded,
      files: [...staged.values()].map((s) => {
        const info = { name: s.name, uri: s.uri, sizeBytes: s.sizeBytes, md5: s.md5 };
        if (!announced.some((a) => a.name === s.name)) return info;
        const link = deps.fileLinks.sign({ purpose: 'upload', orgId: caller.orgId, ownerId: s.deviceId, fileId: s.id });
        return { ...info, uploadPath: `${FILE_LINK_PATH}${link.token}`, uploadExpiresAt: link.expiresAt };
      }),
    };
  } catch (e) {
    await discardAll();
    throw e;
  }
}

/** Devices whose last-update time of this kind is missing or older than DEVICE_TOUCH_INTERVAL_MS, or still inactive. */
function devicesToTouch(kind: IngestKind, items: readonly ValidItem[], now: number): Set<number> {
  const out = new Set<number>();
  for (const { device: d } of items) {
    const last = kind === 'points' ? d.measurepointLastUpdate : kind === 'events' ? d.eventLastUpdate : d.attributeLastUpdate;
    if (d.status === 'inactive' || last === null || now - last >= DEVICE_TOUCH_INTERVAL_MS) out.add(d.id);
  }
  return out;
}

const writers = new WeakMap<IngestPipeline, BatchWriter>();
const deviceCaches = new WeakMap<IngestPipeline, IngestDeviceCache>();

/** The instance's remembered devices (one cache per pipeline, i.e. per running app). */
function deviceCacheOf(deps: IngestDeps): IngestDeviceCache {
  let c = deviceCaches.get(deps.ingestPipeline);
  if (!c) deviceCaches.set(deps.ingestPipeline, (c = createIngestDeviceCache()));
  return c;
}

/** Confirms what a call took from memory when it writes nothing (a refusal, or every item refused in PARTIAL mode): its answer must hold too. */
async function confirmAlone(deps: IngestDeps, facts: WriteFacts): Promise<void> {
  const [stale] = await confirmFacts(deps.db, [facts]);
  if (stale) throw stale;
}

/** The instance's batch writer (one per pipeline, i.e. per running app). */
function batchWriterOf(deps: IngestDeps): BatchWriter {
  let w = writers.get(deps.ingestPipeline);
  if (!w) {
    const { config } = deps;
    w = createBatchWriter(deps.database.writeTransaction, deps.ingestPipeline, deps.log, { groupCommit: config.INGEST_GROUP_COMMIT, maxParallel: config.INGEST_MAX_PARALLEL_TX, maxValues: Math.max(config.INGEST_MAX_POINTS, 10_000) });
    writers.set(deps.ingestPipeline, w);
  }
  return w;
}

/** The group-commit queue of an instance (zeros before its first ingest). */
export function getIngestQueueStats(pipeline: IngestPipeline): BatchWriterStats {
  return writers.get(pipeline)?.stats() ?? { queued: 0, running: 0 };
}
