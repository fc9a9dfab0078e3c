import { useEffect, useMemo, useRef, useState } from 'react';
import { Link } from 'wouter';
import { gql } from '../api/client';
import type { ApiError } from '../api/errors';
import { openLiveStream, useConnectionStatus } from '../api/live';
import { can } from '../api/permissions';
import { useSession } from '../api/session-store';
import { useApi } from '../api/use-api';
import { displayValue, isNumericPoint, POINT_DEF_FIELDS, type PointDef } from '../components/device/model-types';
import { ErrorMessage, NotAllowed } from '../components/error-message';
import { formatTime } from '../components/format';
import { SearchBox } from '../components/search-box';
import { TimeChart } from '../components/time-chart';

/** How much history the charts keep (and load when the dashboard opens). */
const WINDOW_MS = 15 * 60_000;
/** Most values kept per series. */
const MAX_VALUES_PER_SERIES = 5_000;
const SELECTION_KEY = 'tributary.console.dashboard';

interface DashDevice {
  readonly assetId: string;
  readonly name: string;
  readonly productKey: string;
  readonly deviceKey: string;
  readonly model: { readonly identifier: string; readonly measurePoints: readonly PointDef[] };
}

interface LiveBatch {
  readonly offset: string;
  readonly points: readonly { readonly assetId: string; readonly identifier: string; readonly time: number; readonly value: unknown }[];
}

/** Times and values of one device's point, in time order. */
type Series = { times: number[]; values: (number | null)[]; last: { time: number; value: unknown } | null };

const DEVICE_FIELDS = `assetId name productKey deviceKey model { identifier measurePoints { ${POINT_DEF_FIELDS} } }`;
const SEARCH = `query ($filter: DeviceFilter) { devices(filter: $filter, first: 50) { edges { node { ${DEVICE_FIELDS} } } } }`;
const BY_IDS = `query ($ids: [ID!]) { devices(filter: { assetIds: $ids }, first: 200) { edges { node { ${DEVICE_FIELDS} } } } }`;
const HISTORY = `query ($ids: [ID!]!, $points: [String!]!, $from: Timestamp!, $to: Timestamp!) {
  pointHistory(devices: { assetIds: $ids }, points: $points, from: $from, to: $to, first: 1000, order: DESC) { columns { assetIdsJson pointsJson timesJson valuesJson } }
}`;
const LIVE = `subscription ($ids: [ID!], $points: [String!], $fromOffset: String) {
  measurePointsLive(filter: { assetIds: $ids, identifiers: $points }, fromOffset: $fromOffset) { offset points { assetId identifier time value } }
}`;

function loadSelection(): { assetIds: string[]; points: string[] } {
  try {
    return JSON.parse(sessionStorage.getItem(SELECTION_KEY) ?? '') as { assetIds: string[]; points: string[] };
  } catch {
    return { assetIds: [], points: [] };
  }
}

/** Inserts a value keeping time order (live values nearly always go at the end). */
function insert(s: Series, time: number, value: unknown): void {
  const v = typeof value === 'number' ? value : null;
  let i = s.times.length;
  while (i > 0 && s.times[i - 1]! > time) i--;
  if (i > 0 && s.times[i - 1] === time) s.values[i - 1] = v;
  else {
    s.times.splice(i, 0, time);
    s.values.splice(i, 0, v);
  }
  if (s.times.length > MAX_VALUES_PER_SERIES) {
    s.times.splice(0, s.times.length - MAX_VALUES_PER_SERIES);
    s.values.splice(0, s.values.length - MAX_VALUES_PER_SERIES);
  }
  if (!s.last || s.last.time <= time) s.last = { time, value };
}

/** Merges per-device series of one point onto a shared time axis for the chart. */
function alignSeries(devices: readonly DashDevice[], point: string, data: ReadonlyMap<string, Series>): { times: number[]; series: { label: string; values: (number | null)[] }[] } {
  const all = new Set<number>();
  for (const d of devices) for (const t of data.get(`${d.assetId}|${point}`)?.times ?? []) all.add(t);
  const times = [...all].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const series = devices.map((d) => {
    const values: (number | null)[] = new Array<number | null>(times.length).fill(null);
    const s = data.get(`${d.assetId}|${point}`);
    s?.times.forEach((t, i) => (values[index.get(t)!] = s.values[i] ?? null));
    return { label: d.name, values };
  });
  return { times, series };
}

/** Live dashboard: chosen devices and points, values and charts that move as data arrives. */
export function DashboardPage() {
  const grants = useSession().me.serviceAccount.grants;
  const status = useConnectionStatus();
  const [selection, setSelection] = useState(loadSelection);
  const [search, setSearch] = useState('');
  const [, redraw] = useState(0);
  const [liveError, setLiveError] = useState<ApiError | null>(null);
  const [stats, setStats] = useState<{ batches: number; lastOffset: string | null; resumedFrom: string | null; subscriptions: number }>({ batches: 0, lastOffset: null, resumedFrom: null, subscriptions: 0 });
  const data = useRef(new Map<string, Series>());
  const allowed = can(grants, 'ASSET_READ') && can(grants, 'REGISTRY_READ');

  useEffect(() => sessionStorage.setItem(SELECTION_KEY, JSON.stringify(selection)), [selection]);
  const found = useApi((signal) => (allowed ? gql<{ devices: { edges: { node: DashDevice }[] } }>(SEARCH, { filter: search ? { search } : null }, { signal }) : Promise.resolve(null)), [search, allowed]);
  const chosen = useApi(
    (signal) => (allowed && selection.assetIds.length ? gql<{ devices: { edges: { node: DashDevice }[] } }>(BY_IDS, { ids: selection.assetIds }, { signal }) : Promise.resolve(null)),
    [selection.assetIds.join(), allowed],
  );
  const devices = useMemo(() => chosen.data?.devices.edges.map((e) => e.node) ?? [], [chosen.data]);
  const pointDefs = useMemo(() => {
    const m = new Map<string, PointDef>();
    for (const d of devices) for (const p of d.model.measurePoints) if (isNumericPoint(p) && !m.has(p.identifier)) m.set(p.identifier, p);
    return [...m.values()];
  }, [devices]);
  const points = selection.points.filter((p) => pointDefs.some((d) => d.identifier === p));
  const key = `${devices.map((d) => d.assetId).join()}|${points.join()}`;

  // Load the window's history, then follow the live stream (it resumes by itself after a reconnect).
  useEffect(() => {
    data.current = new Map();
    setStats({ batches: 0, lastOffset: null, resumedFrom: null, subscriptions: 0 });
    setLiveError(null);
    if (!devices.length || !points.length) return;
    const ids = devices.map((d) => d.assetId);
    const series = (assetId: string, point: string) => {
      const k = `${assetId}|${point}`;
      let s = data.current.get(k);
      if (!s) data.current.set(k, (s = { times: [], values: [], last: null }));
      return s;
    };
    let stopped = false;
    const now = Date.now();
    gql<{ pointHistory: { columns: { assetIdsJson: string[]; pointsJson: string[]; timesJson: number[]; valuesJson: unknown[] } } }>(HISTORY, { ids, points, from: now - WINDOW_MS, to: now + 60_000 })
      .then((r) => {
        if (stopped) return;
        const c = r.pointHistory.columns;
        c.timesJson.forEach((t, i) => insert(series(c.assetIdsJson[i]!, c.pointsJson[i]!), t, c.valuesJson[i]));
        redraw((n) => n + 1);
      })
      .catch((e: ApiError) => !stopped && setLiveError(e));
    const stream = openLiveStream<LiveBatch>(LIVE, { ids, points }, 'measurePointsLive', {
      onBatch: (b) => {
        for (const p of b.points) insert(series(p.assetId, p.identifier), p.time, p.value);
        setStats((s) => ({ ...s, batches: s.batches + 1, lastOffset: b.offset }));
        setLiveError(null);
        redraw((n) => n + 1);
      },
      onError: (e) => setLiveError(e),
      onSubscribed: (resumedFrom) => setStats((s) => ({ ...s, resumedFrom, subscriptions: s.subscriptions + 1 })),
    });
    return () => {
      stopped = true;
      stream.stop();
    };
  }, [key]);

  if (!allowed) return <NotAllowed>The live dashboard needs REGISTRY_READ (to choose devices) and ASSET_READ (to read their data).</NotAllowed>;
  const toggle = (list: 'assetIds' | 'points', value: string, on: boolean) => setSelection((s) => ({ ...s, [list]: on ? [...s[list], value] : s[list].filter((x) => x !== value) }));
  const candidates = [...devices, ...(found.data?.devices.edges.map((e) => e.node).filter((d) => !selection.assetIds.includes(d.assetId)) ?? [])];
  return (
    <section>
      <h1>Live dashboard</h1>
      <div className="dash">
        <aside className="stack dash-side">
          <div>
            <h3>Devices</h3>
            <SearchBox label="Search devices" placeholder="Search devices" onSearch={setSearch} />
            <div className="picker" data-testid="device-picker">
              {candidates.map((d) => (
                <label key={d.assetId}>
                  <input type="checkbox" checked={selection.assetIds.includes(d.assetId)} onChange={(e) => toggle('assetIds', d.assetId, e.target.checked)} />
                  {d.name} <span className="muted mono">{d.deviceKey}</span>
                </label>
              ))}
              {!candidates.length ? <p className="muted">No devices found.</p> : null}
            </div>
          </div>
          <div>
            <h3>Points</h3>
            <div className="picker" data-testid="point-picker">
              {pointDefs.map((p) => (
                <label key={p.identifier}>
                  <input type="checkbox" checked={selection.points.includes(p.identifier)} onChange={(e) => toggle('points', p.identifier, e.target.checked)} />
                  {p.name || p.identifier} <span className="muted mono">{p.identifier}</span>
                </label>
              ))}
              {!pointDefs.length ? <p className="muted">Choose devices first: their numeric points appear here.</p> : null}
            </div>
          </div>
        </aside>
        <div className="stack dash-main">
          <p className="dash-status" data-testid="dashboard-status" data-status={status} data-batches={stats.batches}>
            <span className={`conn conn-${status}`}>{status === 'connected' ? 'Connected' : status === 'reconnecting' ? 'Reconnecting…' : status === 'connecting' ? 'Connecting…' : 'Not connected'}</span>
            {' · '}
            {stats.batches} messages received
            {stats.lastOffset ? ` · last offset ${stats.lastOffset}` : ''}
            {stats.subscriptions > 1 && stats.resumedFrom ? ` · resumed after offset ${stats.resumedFrom}` : ''}
          </p>
          <ErrorMessage error={liveError ?? chosen.error ?? found.error} />
          {!devices.length || !points.length ? <p className="muted">Choose one or more devices and points to watch.</p> : null}
          {points.map((pid) => {
            const def = pointDefs.find((p) => p.identifier === pid);
            const aligned = alignSeries(devices, pid, data.current);
            return (
              <div key={pid} className="card" data-testid={`dash-point-${pid}`}>
                <h2>
                  {def?.name || pid} {def?.unit ? <span className="muted">({def.unit})</span> : null}
                </h2>
                <div className="tiles">
                  {devices.map((d) => {
                    const last = data.current.get(`${d.assetId}|${pid}`)?.last;
                    return (
                      <div key={d.assetId} className="tile" data-testid={`dash-value-${d.deviceKey}-${pid}`}>
                        <div className="tile-label">
                          <Link href={`/devices/${encodeURIComponent(d.assetId)}`}>{d.name}</Link>
                        </div>
                        <div className="tile-value">{displayValue(def, last?.value)}</div>
                        <div className="tile-time">{last ? formatTime(last.time) : 'waiting for data'}</div>
                      </div>
                    );
                  })}
                </div>
                <TimeChart times={aligned.times} series={aligned.series.map((s) => ({ ...s, unit: def?.unit ?? null }))} height={220} />
              </div>
            );
          })}
        </div>
      </div>
    </section>
  );
}
