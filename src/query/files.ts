import { sql } from 'drizzle-orm';
import type { Access } from '../auth/permissions';
import type { DeviceRef } from '../registry/devices';
import { queryRows, type DbOrTx } from '../storage/db';
import { checkFirst, decodeKeyCursor, encodeKeyCursor, toPage, type Page } from './cursor';
import { selectDevice } from './selection';
import { epochMs } from './sql-util';

/** A committed file of a device. */
export interface DeviceFile {
  readonly uri: string;
  readonly fileName: string;
  readonly originalName: string;
  readonly contentType: string;
  readonly sizeBytes: number;
  readonly md5: string;
  readonly feature: string | null;
  readonly createdAt: Date;
}

type FileRow = { id: string | number; us: string; file_name: string; original_name: string; uri: string; content_type: string; size: string | number; md5: string; feature: string | null; t: number };

/**
 * Committed files of one device of the caller's organisation, newest first; keyset-paginated on
 * (created_at in microseconds, id), so files committed meanwhile never shift a page.
 */
export async function listDeviceFiles(db: DbOrTx, access: Access, maxPageRows: number, ref: DeviceRef, args: { first?: number | null | undefined; after?: string | null | undefined }): Promise<Page<DeviceFile>> {
  const limit = checkFirst(args.first, maxPageRows, 50);
  const after = args.after ? decodeKeyCursor('file', 2, args.after) : null;
  const { orgId } = access.require('ASSET_READ');
  const d = await selectDevice(db, access, ref);
  const created = sql`(extract(epoch from f.created_at) * 1000000)::int8`;
  const rows = await queryRows<FileRow>(
    db,
    sql`select f.id, ${created}::text as us, f.file_name, f.original_name, f.uri, f.content_type, f.size_bytes::float8 as size, f.md5,
               mf.identifier as feature, ${epochMs(sql`f.created_at`)} as t
        from files f left join model_features mf on mf.id = f.feature_id
        where f.org_id = ${orgId} and f.device_id = ${d.id}::int and f.state = 'committed'
          ${after ? sql`and (${created}, f.id) < (${after[0]}::int8, ${after[1]}::int8)` : sql``}
        order by f.created_at desc, f.id desc limit ${limit + 1}`,
  );
  return toPage(
    rows,
    limit,
    (r) => ({ uri: r.uri, fileName: r.file_name, originalName: r.original_name, contentType: r.content_type, sizeBytes: Number(r.size), md5: r.md5, feature: r.feature, createdAt: new Date(r.t) }),
    (r) => encodeKeyCursor('file', [Number(r.us), Number(r.id)]),
    after !== null,
  );
}
