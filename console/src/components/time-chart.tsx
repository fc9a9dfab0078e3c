import { useEffect, useRef } from 'react';
import uPlot from 'uplot';

/** One line of a chart. */
export interface ChartSeries {
  readonly label: string;
  /** One value per time; null leaves a gap. */
  readonly values: readonly (number | null)[];
  readonly unit?: string | null;
}

const COLORS = ['#0b6bcb', '#d9480f', '#2b8a3e', '#862e9c', '#c2255c', '#e67700', '#1098ad', '#5c940d'];

/**
 * A time-series chart (uPlot): times in epoch ms. Dragging across it selects a range and calls
 * `onZoom` with it (the owner loads that range); without `onZoom` uPlot zooms by itself.
 * Updating `times`/`series` redraws without rebuilding the chart, so live data moves smoothly.
 */
export function TimeChart({ times, series, height = 320, onZoom, xRange }: { readonly times: readonly number[]; readonly series: readonly ChartSeries[]; readonly height?: number; readonly onZoom?: (fromMs: number, toMs: number) => void; readonly xRange?: readonly [number, number] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const zoomRef = useRef(onZoom);
  zoomRef.current = onZoom;
  const shape = series.map((s) => `${s.label}|${s.unit ?? ''}`).join(',');
  const xRangeRef = useRef(xRange);
  xRangeRef.current = xRange;

  const data = (): uPlot.AlignedData => [times.map((t) => t / 1000), ...series.map((s) => s.values.map((v) => (v === null ? null : v)))] as uPlot.AlignedData;

  // Build when the set of series changes.
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(300, el.clientWidth),
      height,
      series: [{}, ...series.map((s, i) => ({ label: s.unit ? `${s.label} (${s.unit})` : s.label, stroke: COLORS[i % COLORS.length]!, width: 1.5, spanGaps: false, points: { show: times.length < 80 } }))],
      axes: [{}, { size: 60 }],
      scales: {
        x: {
          time: true,
          ...(xRangeRef.current ? { range: (): uPlot.Range.MinMax => [xRangeRef.current![0] / 1000, xRangeRef.current![1] / 1000] } : {}),
        },
      },
      cursor: { drag: { x: true, y: false, setScale: !zoomRef.current } },
      hooks: {
        setSelect: [
          (u) => {
            if (!zoomRef.current || u.select.width < 5) return;
            const from = u.posToVal(u.select.left, 'x') * 1000;
            const to = u.posToVal(u.select.left + u.select.width, 'x') * 1000;
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            zoomRef.current(Math.round(from), Math.round(to));
          },
        ],
      },
    };
    const p = new uPlot(opts, data(), el);
    plot.current = p;
    const resize = new ResizeObserver(() => p.setSize({ width: Math.max(300, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      p.destroy();
      plot.current = null;
    };
  }, [shape, height]);

  // New data: redraw in place.
  useEffect(() => {
    plot.current?.setData(data());
  }, [times, series, xRange?.[0], xRange?.[1]]);

  return <div className="chart" ref={box} data-testid="chart" data-points={times.length} />;
}
