import { PAGE_ADVICE, type QueryBudget } from './query-budget';
import { sql } from 'drizzle-orm';
import type { Access } from '../auth/permissions';
import { badInput } from '../errors';
import { queryRows, type DbOrTx } from '../storage/db';
import { checkFirst, decodeKeyCursor, encodeKeyCursor, toPage, type Page } from './cursor';
import type { SortOrder } from './history';
import { loadFeatures, pairSeries, selectDevices, type DeviceSelector } from './selection';
import { checkRange, epochMs, seriesWhere, tsParam } from './sql-util';

/** A stored event. */
export interface EventRecord {
  readonly assetId: string;
  readonly event: string;
  readonly level: string;
  readonly time: number;
  readonly params: unknown;
  readonly offline: boolean;
}

/** Arguments of {@link getEventHistory}. */
export interface EventHistoryArgs {
  readonly devices: DeviceSelector;
  readonly events?: readonly string[] | null | undefined;
  readonly levels?: readonly string[] | null | undefined;
  readonly from: number;
  readonly to: number;
  readonly order?: SortOrder | null | undefined;
  readonly first?: number | null | undefined;
  readonly after?: string | null | undefined;
}

/** Events of devices in [from, to), keyset-paginated on (time, device, event); the page is charged to `budget` before the read (heavy at the largest size). */
export async function getEventHistory(db: DbOrTx, access: Access, limits: { maxPageRows: number; maxSeries: number }, args: EventHistoryArgs, budget?: QueryBudget): Promise<Page<EventRecord>> {
  checkRange(args.from, args.to);
  const limit = checkFirst(args.first, limits.maxPageRows, 100);
  const after = args.after ? decodeKeyCursor('ev', 3, args.after) : null;
  const devs = await selectDevices(db, access, args.devices);
  if (devs.length > limits.maxSeries) throw badInput(`an event query reads at most ${limits.maxSeries} devices (QUERY_MAX_SERIES); this one reads ${devs.length}`, { max: limits.maxSeries, requested: devs.length });
  const series = pairSeries(devs, await loadFeatures(db, devs.map((d) => d.modelId), 'EVENT'), args.events, 'event');
  if (!series.length || limit === 0) return toPage([], 0, (r) => r, () => '', after !== null);
  await budget?.charge(limit, { heavy: limit >= limits.maxPageRows, advice: PAGE_ADVICE });
  const assetOf = new Map(series.map((s) => [s.device.id, s.device.assetId]));
  const eventOf = new Map(series.map((s) => [s.feature.id, s.feature.identifier]));
  const asc = (args.order ?? 'DESC') === 'ASC';
  const dir = asc ? sql`asc` : sql`desc`;
  let keyset = sql``;
  if (after) {
    const [t, d, e] = after as [number, number, number];
    keyset = asc
      ? sql`and time >= ${tsParam(t)} and (time, device_id, event_id) > (${tsParam(t)}, ${d}::int, ${e}::int)`
      : sql`and time <= ${tsParam(t)} and (time, device_id, event_id) < (${tsParam(t)}, ${d}::int, ${e}::int)`;
  }
  const rows = await queryRows<{ t: number; device_id: number; event_id: number; level: string; params: unknown; offline: boolean }>(
    db,
    sql`select ${epochMs(sql`time`)} as t, device_id, event_id, level, params, offline from event_data
        where ${seriesWhere('event_id', [...assetOf.keys()], [...eventOf.keys()])}
          and time >= ${tsParam(args.from)} and time < ${tsParam(args.to)}
          ${args.levels?.length ? sql`and level = any(${sql.param([...args.levels])}::text[])` : sql``}
          ${keyset}
        order by time ${dir}, device_id ${dir}, event_id ${dir} limit ${limit + 1}`,
  );
  return toPage(
    rows,
    limit,
    (r) => ({ assetId: assetOf.get(r.device_id)!, event: eventOf.get(r.event_id)!, level: r.level, time: r.t, params: r.params, offline: r.offline }),
    (r) => encodeKeyCursor('ev', [r.t, r.device_id, r.event_id]),
    after !== null,
  );
}
