import { useEffect, useMemo, useState } from 'react';
import { gql } from '../../api/client';
import { useApi } from '../../api/use-api';
import { ErrorMessage, Loading } from '../error-message';
import { formatTime, fromLocalInput, toLocalInput } from '../format';
import { TimeChart, type ChartSeries } from '../time-chart';
import { isNumericPoint, type PointDef } from './model-types';

const HOUR_MS = 3_600_000;
const PRESETS: readonly { readonly label: string; readonly ms: number }[] = [
  { label: '1 hour', ms: HOUR_MS },
  { label: '6 hours', ms: 6 * HOUR_MS },
  { label: '24 hours', ms: 24 * HOUR_MS },
  { label: '7 days', ms: 7 * 24 * HOUR_MS },
  { label: '30 days', ms: 30 * 24 * HOUR_MS },
];
/** Bucket lengths the chart offers, shortest first. */
const BUCKETS: readonly { readonly interval: string; readonly ms: number }[] = [
  { interval: '1 second', ms: 1_000 },
  { interval: '10 seconds', ms: 10_000 },
  { interval: '1 minute', ms: 60_000 },
  { interval: '5 minutes', ms: 300_000 },
  { interval: '15 minutes', ms: 900_000 },
  { interval: '1 hour', ms: HOUR_MS },
  { interval: '6 hours', ms: 6 * HOUR_MS },
  { interval: '1 day', ms: 24 * HOUR_MS },
  { interval: '7 days', ms: 7 * 24 * HOUR_MS },
];
/** Most buckets an automatic bucket length gives over the range. */
const AUTO_MAX_BUCKETS = 400;
/** Raw values loaded at most (pages of 1,000); past it the chart says so. */
const RAW_MAX_VALUES = 10_000;
const FUNCTIONS = ['AVG', 'MIN', 'MAX', 'SUM', 'COUNT', 'FIRST', 'LAST'] as const;

/** The bucket for a range: the shortest that gives at most AUTO_MAX_BUCKETS. */
export function autoBucket(rangeMs: number): string {
  return (BUCKETS.find((b) => rangeMs / b.ms <= AUTO_MAX_BUCKETS) ?? BUCKETS[BUCKETS.length - 1]!).interval;
}

interface ChartData {
  readonly times: number[];
  readonly series: ChartSeries[];
  readonly truncated: boolean;
}

const RAW = `query ($id: ID!, $point: String!, $from: Timestamp!, $to: Timestamp!, $after: String) {
  pointHistory(devices: { assetIds: [$id] }, points: [$point], from: $from, to: $to, first: 1000, after: $after) {
    pageInfo { hasNextPage endCursor } columns { timesJson valuesJson }
  }
}`;
const AGG = `query ($id: ID!, $aggs: [AggregateInput!]!, $from: Timestamp!, $to: Timestamp!, $interval: String!, $tz: String) {
  pointAggregates(devices: { assetIds: [$id] }, aggregates: $aggs, from: $from, to: $to, interval: $interval, timezone: $tz, fill: NULL) { times columns { function values } }
}`;
const LATEST_TIME = `query ($id: ID!, $point: String!) { latestValues(devices: { assetIds: [$id] }, points: [$point]) { time } }`;

async function loadRaw(assetId: string, point: PointDef, from: number, to: number, signal: AbortSignal): Promise<ChartData> {
  const times: number[] = [];
  const values: (number | null)[] = [];
  let after: string | null = null;
  let more = true;
  while (more && times.length < RAW_MAX_VALUES) {
    const r: { pointHistory: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; columns: { timesJson: number[]; valuesJson: unknown[] } } } = await gql(RAW, { id: assetId, point: point.identifier, from, to, after }, { signal });
    times.push(...r.pointHistory.columns.timesJson);
    values.push(...r.pointHistory.columns.valuesJson.map((v) => (typeof v === 'number' ? v : null)));
    more = r.pointHistory.pageInfo.hasNextPage;
    after = r.pointHistory.pageInfo.endCursor;
  }
  return { times, series: [{ label: point.name || point.identifier, values, unit: point.unit }], truncated: more };
}

async function loadAggregates(assetId: string, point: PointDef, fns: readonly string[], from: number, to: number, interval: string, timezone: string, signal: AbortSignal): Promise<ChartData> {
  const r = await gql<{ pointAggregates: { times: number[]; columns: { function: string; values: (number | null)[] }[] }[] }>(
    AGG,
    { id: assetId, aggs: fns.map((f) => ({ point: point.identifier, function: f })), from, to, interval, tz: timezone },
    { signal },
  );
  const d = r.pointAggregates[0];
  if (!d) return { times: [], series: [], truncated: false };
  return { times: d.times, series: d.columns.map((c) => ({ label: `${c.function} ${point.name || point.identifier}`, values: c.values, unit: point.unit })), truncated: false };
}

/** A chart of one numeric point over a chosen range: raw values or buckets; drag to zoom, buttons to pan. */
export function PointChart({ assetId, points, timezone }: { readonly assetId: string; readonly points: readonly PointDef[]; readonly timezone: string }) {
  const numeric = useMemo(() => points.filter(isNumericPoint), [points]);
  const [pointId, setPointId] = useState(numeric[0]?.identifier ?? '');
  const [range, setRange] = useState<{ from: number; to: number } | null>(null);
  const [mode, setMode] = useState<'raw' | 'aggregate'>('raw');
  const [bucket, setBucket] = useState('auto');
  const [fns, setFns] = useState<readonly string[]>(['AVG', 'MIN', 'MAX']);
  const point = numeric.find((p) => p.identifier === pointId);

  // The first range: the 24 hours up to now, or up to the point's latest value when that is older.
  useEffect(() => {
    if (!pointId || range) return;
    const ctrl = new AbortController();
    gql<{ latestValues: { time: number }[] }>(LATEST_TIME, { id: assetId, point: pointId }, { signal: ctrl.signal })
      .then((r) => {
        const latest = r.latestValues[0]?.time;
        const now = Date.now();
        const to = latest !== undefined && latest < now - 24 * HOUR_MS ? Math.ceil((latest + 1) / HOUR_MS) * HOUR_MS : now;
        setRange({ from: to - 24 * HOUR_MS, to });
      })
      .catch(() => !ctrl.signal.aborted && setRange({ from: Date.now() - 24 * HOUR_MS, to: Date.now() }));
    return () => ctrl.abort();
  }, [assetId, pointId, range]);

  const interval = bucket === 'auto' && range ? autoBucket(range.to - range.from) : bucket;
  const chart = useApi(
    (signal) => {
      if (!point || !range) return Promise.resolve(null);
      return mode === 'raw' ? loadRaw(assetId, point, range.from, range.to, signal) : loadAggregates(assetId, point, fns, range.from, range.to, interval, timezone, signal);
    },
    [assetId, point?.identifier, range?.from, range?.to, mode, interval, fns.join(), timezone],
  );

  if (!numeric.length) return <p className="muted">The thing model has no numeric measure points to chart.</p>;
  const span = range ? range.to - range.from : 24 * HOUR_MS;
  const shift = (share: number) => range && setRange({ from: Math.round(range.from + span * share), to: Math.round(range.to + span * share) });
  const zoomOut = () => range && setRange({ from: Math.round(range.from - span / 2), to: Math.round(range.to + span / 2) });
  return (
    <div className="stack">
      <div className="toolbar">
        <label>
          Point
          <select value={pointId} onChange={(e) => setPointId(e.target.value)}>
            {numeric.map((p) => (
              <option key={p.identifier} value={p.identifier}>
                {p.name || p.identifier} ({p.identifier})
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="datetime-local" value={range ? toLocalInput(range.from) : ''} onChange={(e) => range && Number.isFinite(fromLocalInput(e.target.value)) && setRange({ ...range, from: fromLocalInput(e.target.value) })} />
        </label>
        <label>
          To
          <input type="datetime-local" value={range ? toLocalInput(range.to) : ''} onChange={(e) => range && Number.isFinite(fromLocalInput(e.target.value)) && setRange({ ...range, to: fromLocalInput(e.target.value) })} />
        </label>
        <label>
          Last
          <select value="" onChange={(e) => e.target.value && setRange({ from: Date.now() - Number(e.target.value), to: Date.now() })}>
            <option value="">choose…</option>
            {PRESETS.map((p) => (
              <option key={p.label} value={p.ms}>
                {p.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Values
          <select value={mode} onChange={(e) => setMode(e.target.value as 'raw' | 'aggregate')}>
            <option value="raw">Raw</option>
            <option value="aggregate">Aggregated by bucket</option>
          </select>
        </label>
        {mode === 'aggregate' ? (
          <>
            <label>
              Bucket
              <select value={bucket} onChange={(e) => setBucket(e.target.value)}>
                <option value="auto">Automatic ({interval})</option>
                {BUCKETS.map((b) => (
                  <option key={b.interval} value={b.interval}>
                    {b.interval}
                  </option>
                ))}
              </select>
            </label>
            <fieldset className="plain fns">
              {FUNCTIONS.map((f) => (
                <label key={f} className="check">
                  <input type="checkbox" checked={fns.includes(f)} onChange={(e) => setFns(e.target.checked ? [...fns, f] : fns.filter((x) => x !== f))} />
                  {f}
                </label>
              ))}
            </fieldset>
          </>
        ) : null}
      </div>
      <div className="toolbar">
        <button type="button" onClick={() => shift(-0.5)} disabled={!range}>
          ← Earlier
        </button>
        <button type="button" onClick={zoomOut} disabled={!range}>
          Zoom out
        </button>
        <button type="button" onClick={() => shift(0.5)} disabled={!range}>
          Later →
        </button>
        <span className="muted">Drag across the chart to zoom in.</span>
        {range ? (
          <span className="muted" data-testid="chart-range">
            {formatTime(range.from)} – {formatTime(range.to)}
          </span>
        ) : null}
      </div>
      <ErrorMessage error={chart.error} />
      {chart.loading && !chart.data ? <Loading what="the chart" /> : null}
      {chart.data && range ? (
        <>
          <TimeChart times={chart.data.times} series={chart.data.series} onZoom={(from, to) => setRange({ from, to })} xRange={[range.from, range.to]} />
          <p className="muted" data-testid="chart-summary">
            {chart.data.times.length} {mode === 'raw' ? 'values' : `buckets of ${interval}`}
            {chart.data.truncated ? ` (the first ${RAW_MAX_VALUES}: choose a shorter range or aggregated values to see all)` : ''}
            {chart.data.times.length === 0 ? ' — no data in this range' : ''}
          </p>
        </>
      ) : null}
    </div>
  );
}
