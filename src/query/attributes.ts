import { sql } from 'drizzle-orm';
import type { Access } from '../auth/permissions';
import { badInput } from '../errors';
import type { DeviceRef } from '../registry/devices';
import { queryRows, type DbOrTx } from '../storage/db';
import { checkFirst, decodeKeyCursor, encodeKeyCursor, toPage, type Page } from './cursor';
import type { SortOrder } from './history';
import { loadFeatures, selectDevice } from './selection';
import { epochMs, intArray, tsParam } from './sql-util';

/** A current attribute value. */
export interface AttributeValue {
  readonly attribute: string;
  readonly value: unknown;
  /** Epoch milliseconds. */
  readonly updatedAt: number;
}

/** Current values of one device's attributes (all, or those named; unknown names are BAD_USER_INPUT). */
export async function getAttributeValues(db: DbOrTx, access: Access, ref: DeviceRef, names: readonly string[] | null | undefined): Promise<AttributeValue[]> {
  const d = await selectDevice(db, access, ref);
  const feats = (await loadFeatures(db, [d.modelId], 'ATTRIBUTE')).get(d.modelId) ?? new Map();
  for (const n of names ?? []) if (!feats.has(n)) throw badInput(`unknown attribute ${n}`, { identifier: n });
  const chosen = names ? [...new Set(names)].map((n) => feats.get(n)!) : [...feats.values()];
  if (!chosen.length) return [];
  const rows = await queryRows<{ attribute_id: number; value: unknown; t: number }>(
    db,
    sql`select attribute_id, value, ${epochMs(sql`updated_at`)} as t from attribute_values
        where device_id = ${d.id}::int and attribute_id = any(${intArray(chosen.map((f) => f.id))})`,
  );
  const byId = new Map(rows.map((r) => [r.attribute_id, r]));
  return chosen.flatMap((f) => {
    const r = byId.get(f.id);
    return r ? [{ attribute: f.identifier, value: r.value, updatedAt: r.t }] : [];
  });
}

/** One change of an attribute. */
export interface AttributeChange {
  readonly time: number;
  readonly value: unknown;
  readonly source: string;
}

/** Arguments of {@link getAttributeHistory}. */
export interface AttributeHistoryArgs {
  readonly device: DeviceRef;
  readonly attribute: string;
  readonly from?: number | null | undefined;
  readonly to?: number | null | undefined;
  readonly order?: SortOrder | null | undefined;
  readonly first?: number | null | undefined;
  readonly after?: string | null | undefined;
}

/** Change history of one attribute of one device, keyset-paginated on time. */
export async function getAttributeHistory(db: DbOrTx, access: Access, maxPageRows: number, args: AttributeHistoryArgs): Promise<Page<AttributeChange>> {
  const limit = checkFirst(args.first, maxPageRows, 100);
  const after = args.after ? decodeKeyCursor('ah', 1, args.after)[0]! : null;
  const d = await selectDevice(db, access, args.device);
  const f = (await loadFeatures(db, [d.modelId], 'ATTRIBUTE')).get(d.modelId)?.get(args.attribute);
  if (!f) throw badInput(`unknown attribute ${args.attribute}`, { identifier: args.attribute });
  const asc = (args.order ?? 'DESC') === 'ASC';
  const rows = await queryRows<{ t: number; value: unknown; source: string }>(
    db,
    sql`select ${epochMs(sql`time`)} as t, value, source from attribute_history
        where device_id = ${d.id}::int and attribute_id = ${f.id}::int
          ${args.from != null ? sql`and time >= ${tsParam(args.from)}` : sql``}
          ${args.to != null ? sql`and time < ${tsParam(args.to)}` : sql``}
          ${after === null ? sql`` : asc ? sql`and time > ${tsParam(after)}` : sql`and time < ${tsParam(after)}`}
        order by time ${asc ? sql`asc` : sql`desc`} limit ${limit + 1}`,
  );
  return toPage(rows, limit, (r) => ({ time: r.t, value: r.value, source: r.source }), (r) => encodeKeyCursor('ah', [r.t]), after !== null);
}
