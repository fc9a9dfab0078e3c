import { useEffect, useRef, useState } from 'react';
import { gql } from '../../api/client';
import type { ApiError } from '../../api/errors';
import { openLiveStream } from '../../api/live';
import { useApi } from '../../api/use-api';
import { ErrorMessage, Loading } from '../error-message';
import { formatTime } from '../format';
import { displayValue, type PointDef } from './model-types';

interface Latest {
  readonly time: number;
  readonly value: unknown;
}

interface LivePointsBatch {
  readonly offset: string;
  readonly points: readonly { readonly identifier: string; readonly time: number; readonly value: unknown }[];
}

const LATEST = `query ($id: ID!) { latestValues(devices: { assetIds: [$id] }) { point time value } }`;
const LIVE = `subscription ($id: ID!, $fromOffset: String) { measurePointsLive(filter: { assetIds: [$id] }, fromOffset: $fromOffset) { offset points { identifier time value } } }`;

/** The latest value of every point, updated live as values arrive. */
export function LatestValues({ assetId, points }: { readonly assetId: string; readonly points: readonly PointDef[] }) {
  const [values, setValues] = useState<Record<string, Latest>>({});
  const [flash, setFlash] = useState<ReadonlySet<string>>(new Set());
  const [liveError, setLiveError] = useState<ApiError | null>(null);
  const loaded = useApi((signal) => gql<{ latestValues: { point: string; time: number; value: unknown }[] }>(LATEST, { id: assetId }, { signal }), [assetId]);
  const flashTimer = useRef<ReturnType<typeof setTimeout>>(undefined);

  useEffect(() => {
    if (!loaded.data) return;
    setValues((v) => {
      const next = { ...v };
      for (const r of loaded.data?.latestValues ?? []) if (!next[r.point] || next[r.point]!.time <= r.time) next[r.point] = { time: r.time, value: r.value };
      return next;
    });
  }, [loaded.data]);

  useEffect(() => {
    const stream = openLiveStream<LivePointsBatch>(LIVE, { id: assetId }, 'measurePointsLive', {
      onBatch: (b) => {
        setLiveError(null);
        setValues((v) => {
          const next = { ...v };
          for (const p of b.points) if (!next[p.identifier] || next[p.identifier]!.time <= p.time) next[p.identifier] = { time: p.time, value: p.value };
          return next;
        });
        setFlash(new Set(b.points.map((p) => p.identifier)));
        clearTimeout(flashTimer.current);
        flashTimer.current = setTimeout(() => setFlash(new Set()), 1200);
      },
      onError: (e) => setLiveError(e),
    });
    return () => {
      stream.stop();
      clearTimeout(flashTimer.current);
    };
  }, [assetId]);

  if (loaded.loading && !loaded.data) return <Loading what="latest values" />;
  return (
    <div>
      <ErrorMessage error={loaded.error ?? liveError} />
      {points.length === 0 ? <p className="muted">The thing model has no measure points.</p> : null}
      <div className="tiles" data-testid="latest-values">
        {points.map((p) => {
          const v = values[p.identifier];
          return (
            <div key={p.identifier} className={`tile${flash.has(p.identifier) ? ' flash' : ''}`} data-point={p.identifier}>
              <div className="tile-label">
                {p.name || p.identifier} <span className="mono">{p.identifier}</span>
              </div>
              <div className="tile-value" data-testid={`latest-${p.identifier}`}>
                {displayValue(p, v?.value)}
                {v && p.unit ? <span className="muted"> {p.unit}</span> : null}
              </div>
              <div className="tile-time">{v ? formatTime(v.time) : 'no value yet'}</div>
            </div>
          );
        })}
      </div>
    </div>
  );
}
