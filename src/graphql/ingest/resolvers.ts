import { deleteFile } from '../../files/file-service';
import { listDeviceFiles, type DeviceFile } from '../../query/files';
import type { FileUpload } from '../../files/file-upload';
import { ErrorCode, findAppError } from '../../errors';
import { countValues, ingest, type AnnouncedFile, type IngestMode, type IngestResult } from '../../ingest/ingest-service';
import type { Channel } from '../../ingest/types';
import type { RawItem } from '../../ingest/validate-items';
import type { ItemDeviceRef } from '../../ingest/resolve-devices';
import type { DeviceRef } from '../../registry/devices';
import type { GraphQLContext } from '../context';
import { UploadScalar } from './upload-scalar';

type Item = RawItem & ItemDeviceRef;
interface FileArg {
  readonly name: string;
  readonly file: Promise<FileUpload>;
  readonly md5?: string | null;
  readonly originalName?: string | null;
}
interface IngestArgs {
  readonly items: readonly Item[];
  readonly channel?: Channel | null;
  readonly mode?: IngestMode | null;
  readonly files?: readonly FileArg[] | null;
  readonly announcedFiles?: readonly AnnouncedFile[] | null;
}

function post(kind: 'points' | 'attributes' | 'events') {
  return async (_: unknown, a: IngestArgs, ctx: GraphQLContext): Promise<IngestResult> => {
    const m = ctx.deps.metrics;
    const labels = { transport: ctx.transport, kind };
    try {
      const r = await ingest(ctx.deps, ctx.access, { kind, items: a.items, channel: a.channel ?? 'REALTIME', mode: a.mode ?? 'ALL_OR_NOTHING', files: a.files ?? [], announced: a.announcedFiles ?? [] });
      m.ingestRequests.inc({ ...labels, code: 'OK' });
      if (r.accepted) m.ingestValuesAccepted.inc(labels, r.accepted);
      for (const e of r.errors) m.ingestValuesRejected.inc({ ...labels, code: e.code });
      return r;
    } catch (e) {
      const app = findAppError(e);
      const code = app?.code ?? ErrorCode.INTERNAL_SERVER_ERROR;
      m.ingestRequests.inc({ ...labels, code });
      // A refusal names its item errors; the first one says why the whole call was refused.
      const itemCode = (app?.details?.['errors'] as readonly { code?: string }[] | undefined)?.[0]?.code;
      const n = countValues(kind, a.items);
      if (n) m.ingestValuesRejected.inc({ ...labels, code: itemCode ?? code }, n);
      throw e;
    }
  };
}

/** Ingest mutations (ASSET_WRITE) and the files of a device (ASSET_READ). */
export const ingestResolvers = {
  Upload: UploadScalar,
  Mutation: {
    postMeasurePoints: post('points'),
    postAttributes: post('attributes'),
    postEvents: post('events'),
    deleteFile: (_: unknown, a: { device: DeviceRef; uri: string }, ctx: GraphQLContext) => deleteFile(ctx.deps, ctx.access, a.device, a.uri),
  },
  Query: {
    // The plain-list form of Query.files: its first page, clamped as before.
    deviceFiles: async (_: unknown, a: { device: DeviceRef; first?: number | null }, ctx: GraphQLContext) => {
      const first = Math.min(Math.max(a.first ?? 100, 1), ctx.deps.config.REGISTRY_PAGE_MAX);
      const page = await listDeviceFiles(ctx.deps.db, ctx.access, Math.max(first, ctx.deps.config.QUERY_PAGE_MAX_ROWS), a.device, { first });
      return page.edges.map((e) => e.node);
    },
  },
  DeviceFile: {
    downloadPath: (f: DeviceFile) => `/files/${f.uri.slice('enos-connect://'.length)}`,
  },
};
