import { sql, type SQL } from 'drizzle-orm';
import type { Access } from '../auth/permissions';
import { badInput } from '../errors';
import { QUALITY_MAX } from '../model/validate-value';
import { queryRows, type DbOrTx } from '../storage/db';
import { checkFirst, decodeKeyCursor, encodeKeyCursor, toPage, type Page } from './cursor';
import type { PointValue } from './latest';
import type { ModelCache } from '../ingest/model-cache';
import { deviceFeatures, pairSeries, selectDevices, type DeviceSelector } from './selection';
import { PAGE_ADVICE, type QueryBudget } from './query-budget';
import { checkRange, epochMs, seriesWhere, tsParam, valueOf, type ValueColumns } from './sql-util';

/** Sort order of a history read. */
export type SortOrder = 'ASC' | 'DESC';

/** Bounds of a history read (from config). */
export interface HistoryLimits {
  /** QUERY_PAGE_MAX_ROWS */
  readonly maxPageRows: number;
  /** QUERY_MAX_SERIES */
  readonly maxSeries: number;
}

/** Most quality codes one history query may filter on (there are few distinct codes). */
export const HISTORY_MAX_QUALITIES = 100;

/** Quality codes are stored as smallint, 0 to QUALITY_MAX, as ingest accepts them. */
function checkQualities(qualities: readonly number[] | null | undefined): void {
  if (!qualities) return;
  if (qualities.length > HISTORY_MAX_QUALITIES) throw badInput(`qualities lists at most ${HISTORY_MAX_QUALITIES} codes; this one lists ${qualities.length}`, { max: HISTORY_MAX_QUALITIES, requested: qualities.length });
  const bad = qualities.findIndex((q) => !Number.isInteger(q) || q < 0 || q > QUALITY_MAX);
  if (bad >= 0) throw badInput(`qualities[${bad}]: a quality code is an integer 0-${QUALITY_MAX}, not ${qualities[bad]}`);
}

/** Arguments of {@link getPointHistory}. */
export interface HistoryArgs {
  readonly devices: DeviceSelector;
  readonly points: readonly string[];
  readonly from: number;
  readonly to: number;
  readonly order?: SortOrder | null | undefined;
  readonly qualities?: readonly number[] | null | undefined;
  readonly first?: number | null | undefined;
  readonly after?: string | null | undefined;
}

/** The key of a history row, which the cursor carries: (time ms, device id, point id). */
export type HistoryKey = readonly [number, number, number];

/** What {@link historySql} reads. */
export interface HistoryQuery {
  readonly deviceIds: readonly number[];
  readonly pointIds: readonly number[];
  readonly fromMs: number;
  readonly toMs: number;
  readonly order: SortOrder;
  readonly qualities: readonly number[] | null;
  readonly after: HistoryKey | null;
  /** Rows to fetch (page size + 1 to learn whether another page follows). */
  readonly limit: number;
}

/**
 * The SQL of one page of raw history, keyset-paginated on (time, device_id, point_id). The plain
 * `time >=`/`time <=` bound next to the row comparison lets the planner use the time index and
 * exclude chunks.
 */
export function historySql(q: HistoryQuery): SQL {
  const asc = q.order === 'ASC';
  let keyset = sql``;
  if (q.after) {
    const [t, d, p] = q.after;
    keyset = asc
      ? sql`and time >= ${tsParam(t)} and (time, device_id, point_id) > (${tsParam(t)}, ${d}::int, ${p}::int)`
      : sql`and time <= ${tsParam(t)} and (time, device_id, point_id) < (${tsParam(t)}, ${d}::int, ${p}::int)`;
  }
  const dir = asc ? sql`asc` : sql`desc`;
  return sql`select ${epochMs(sql`time`)} as t, device_id, point_id, num, bool, txt, json, quality, coalesce(offline, false) as offline
    from point_data
    where ${seriesWhere('point_id', q.deviceIds, q.pointIds)}
      and time >= ${tsParam(q.fromMs)} and time < ${tsParam(q.toMs)}
      ${q.qualities ? sql`and quality = any(${sql.param([...q.qualities])}::smallint[])` : sql``}
      ${keyset}
    order by time ${dir}, device_id ${dir}, point_id ${dir}
    limit ${q.limit}`;
}

/** A row of {@link historySql}. */
export type HistoryRow = ValueColumns & { t: number; device_id: number; point_id: number; quality: number | null; offline: boolean };

/** The rows of a history page in columns: entry i of each list is row i (the rows of `edges`). */
export interface PointValueColumns {
  readonly assetIds: string[];
  readonly points: string[];
  /** Epoch milliseconds. */
  readonly times: number[];
  readonly values: unknown[];
  readonly qualities: (number | null)[];
  /** The same lists again, for the `*Json` fields (one JSON leaf each: the fast bulk shape). */
  readonly assetIdsJson: string[];
  readonly pointsJson: string[];
  readonly timesJson: number[];
  readonly valuesJson: unknown[];
  readonly qualitiesJson: (number | null)[];
}

/** A page of raw history: a Relay page, and the same rows in columns. */
export interface PointValuePage extends Page<PointValue> {
  readonly columns: PointValueColumns;
}

const cursorOf = (r: HistoryRow): string => encodeKeyCursor('pv', [r.t, r.device_id, r.point_id]);

/**
 * A history page that builds `edges` or `columns` only when the client selects them.
 *
 * PERF: a bulk reader selects `columns` (a handful of lists) and never pays for one edge and one
 * node object per row, nor their field resolutions.
 */
class HistoryPage implements PointValuePage {
  readonly pageInfo: Page<PointValue>['pageInfo'];
  #edges?: Page<PointValue>['edges'];
  #columns?: PointValueColumns;

  constructor(
    private readonly rows: readonly HistoryRow[],
    private readonly assetOf: ReadonlyMap<number, string>,
    private readonly pointOf: ReadonlyMap<number, string>,
    hasNextPage: boolean,
    hasPreviousPage: boolean,
  ) {
    const first = rows[0];
    const last = rows.at(-1);
    this.pageInfo = { hasNextPage, hasPreviousPage, startCursor: first ? cursorOf(first) : null, endCursor: last ? cursorOf(last) : null };
  }

  get edges(): Page<PointValue>['edges'] {
    return (this.#edges ??= toPage(this.rows, this.rows.length, (r): PointValue => ({ assetId: this.assetOf.get(r.device_id)!, point: this.pointOf.get(r.point_id)!, time: r.t, value: valueOf(r), quality: r.quality, offline: r.offline }), cursorOf, false).edges);
  }

  get columns(): PointValueColumns {
    if (this.#columns) return this.#columns;
    const n = this.rows.length;
    const assetIds = new Array<string>(n);
    const points = new Array<string>(n);
    const times = new Array<number>(n);
    const values = new Array<unknown>(n);
    const qualities = new Array<number | null>(n);
    for (let i = 0; i < n; i++) {
      const r = this.rows[i]!;
      assetIds[i] = this.assetOf.get(r.device_id)!;
      points[i] = this.pointOf.get(r.point_id)!;
      times[i] = r.t;
      values[i] = valueOf(r);
      qualities[i] = r.quality;
    }
    return (this.#columns = { assetIds, points, times, values, qualities, assetIdsJson: assetIds, pointsJson: points, timesJson: times, valuesJson: values, qualitiesJson: qualities });
  }
}

/**
 * Raw history of points of devices in [from, to), as a Relay page. The page's rows are charged
 * to `budget` before the read; a page of the largest size is heavy.
 */
export async function getPointHistory(db: DbOrTx, access: Access, limits: HistoryLimits, args: HistoryArgs, models?: ModelCache, budget?: QueryBudget): Promise<PointValuePage> {
  checkRange(args.from, args.to);
  const limit = checkFirst(args.first, limits.maxPageRows, 1000);
  const after = args.after ? (decodeKeyCursor('pv', 3, args.after) as unknown as HistoryKey) : null;
  checkQualities(args.qualities);
  if (!args.points.length) throw badInput('name at least one measurement point');
  const devs = await selectDevices(db, access, args.devices);
  const series = pairSeries(devs, await deviceFeatures(db, devs, 'MEASUREPOINT', models), args.points, 'measurement point');
  if (series.length > limits.maxSeries) throw badInput(`a history query reads at most ${limits.maxSeries} device x point series (QUERY_MAX_SERIES); this one reads ${series.length}`, { max: limits.maxSeries, requested: series.length });
  if (!series.length || limit === 0) return new HistoryPage([], new Map(), new Map(), false, !!after);
  await budget?.charge(limit, { heavy: limit >= limits.maxPageRows, advice: PAGE_ADVICE });
  const assetOf = new Map(series.map((s) => [s.device.id, s.device.assetId]));
  const pointOf = new Map(series.map((s) => [s.feature.id, s.feature.identifier]));
  const rows = await queryRows<HistoryRow>(
    db,
    historySql({
      deviceIds: [...assetOf.keys()],
      pointIds: [...pointOf.keys()],
      fromMs: args.from,
      toMs: args.to,
      order: args.order ?? 'ASC',
      qualities: args.qualities ?? null,
      after,
      limit: limit + 1,
    }),
  );
  return new HistoryPage(rows.length > limit ? rows.slice(0, limit) : rows, assetOf, pointOf, rows.length > limit, !!after);
}
