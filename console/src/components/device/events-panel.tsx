import { useState } from 'react';
import { gql } from '../../api/client';
import { useApi } from '../../api/use-api';
import { ErrorMessage, Loading } from '../error-message';
import { formatTime } from '../format';
import { Pager, usePaging, type PageInfo } from '../pager';

const PAGE_SIZE = 20;
const LEVELS = ['INFO', 'WARN', 'ERROR'] as const;
const DAY_MS = 86_400_000;
const RANGES: readonly { readonly label: string; readonly ms: number | null }[] = [
  { label: 'All time', ms: null },
  { label: 'Last 24 hours', ms: DAY_MS },
  { label: 'Last 7 days', ms: 7 * DAY_MS },
  { label: 'Last 30 days', ms: 30 * DAY_MS },
];

const EVENTS = `query ($id: ID!, $levels: [EventLevel!], $from: Timestamp!, $to: Timestamp!, $first: Int, $after: String) {
  eventHistory(devices: { assetIds: [$id] }, levels: $levels, from: $from, to: $to, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor } edges { node { event level time params offline } }
  }
}`;

/** The device's events, newest first, by level and range, paged. */
export function EventsPanel({ assetId }: { readonly assetId: string }) {
  const [levels, setLevels] = useState<readonly string[]>(LEVELS);
  const [rangeMs, setRangeMs] = useState<number | null>(null);
  const paging = usePaging(PAGE_SIZE);
  const events = useApi(
    (signal) => {
      const to = Date.now() + DAY_MS;
      const from = rangeMs === null ? 0 : Date.now() - rangeMs;
      if (!levels.length) return Promise.resolve(null);
      return gql<{ eventHistory: { pageInfo: PageInfo; edges: { node: { event: string; level: string; time: number; params: unknown; offline: boolean } }[] } }>(
        EVENTS,
        { id: assetId, levels, from, to, first: PAGE_SIZE, after: paging.after },
        { signal },
      );
    },
    [assetId, levels.join(), rangeMs, paging.after],
  );
  const rows = events.data?.eventHistory.edges.map((e) => e.node) ?? [];
  return (
    <div>
      <div className="toolbar">
        {LEVELS.map((l) => (
          <label key={l} className="check">
            <input
              type="checkbox"
              checked={levels.includes(l)}
              onChange={(e) => {
                setLevels(e.target.checked ? [...levels, l] : levels.filter((x) => x !== l));
                paging.reset();
              }}
            />
            <span className={`badge ${l}`}>{l}</span>
          </label>
        ))}
        <select
          aria-label="Range"
          value={rangeMs ?? ''}
          onChange={(e) => {
            setRangeMs(e.target.value ? Number(e.target.value) : null);
            paging.reset();
          }}
        >
          {RANGES.map((r) => (
            <option key={r.label} value={r.ms ?? ''}>
              {r.label}
            </option>
          ))}
        </select>
      </div>
      <ErrorMessage error={events.error} />
      {events.loading && !events.data ? <Loading what="events" /> : null}
      <table data-testid="events">
        <thead>
          <tr>
            <th>Time</th>
            <th>Level</th>
            <th>Event</th>
            <th>Parameters</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={`${r.time}-${r.event}-${i}`}>
              <td>
                {formatTime(r.time)}
                {r.offline ? <span className="muted"> (offline)</span> : null}
              </td>
              <td>
                <span className={`badge ${r.level}`}>{r.level}</span>
              </td>
              <td className="mono">{r.event}</td>
              <td className="mono">{JSON.stringify(r.params)}</td>
            </tr>
          ))}
          {!rows.length && !events.loading ? (
            <tr>
              <td colSpan={4} className="muted">
                {levels.length ? 'No events in this range.' : 'Choose at least one level.'}
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <Pager paging={paging} pageInfo={events.data?.eventHistory.pageInfo} count={rows.length} pageSize={PAGE_SIZE} />
    </div>
  );
}
