import { EnosError } from './envelope';

/** TSDB "invalid parameter". */
const BAD = 80400;

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})$/;
const LOCAL_RE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,3})?$/;

/**
 * A TSDB time parameter: UTC form (ISO 8601 with `Z` or an offset, one instant for every
 * device) or local form `YYYY-MM-DD HH:MM:SS[.SSS]` (read in each device's own timezone).
 */
export type TsdbTime = { readonly kind: 'utc'; readonly epochMs: number } | { readonly kind: 'local'; readonly wallMs: number };

/** Parses `startTime`/`endTime`; 80400 for anything else. */
export function parseTsdbTime(value: unknown, name: string): TsdbTime {
  const text = typeof value === 'string' ? value.trim() : '';
  if (ISO_RE.test(text)) {
    const ms = Date.parse(text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
    if (Number.isFinite(ms)) return { kind: 'utc', epochMs: ms };
  }
  const m = LOCAL_RE.exec(text);
  if (m) {
    const wallMs = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, m[7] ? Math.round(Number(m[7]) * 1000) : 0);
    if (Number.isFinite(wallMs) && new Date(wallMs).getUTCDate() === +m[3]!) return { kind: 'local', wallMs };
  }
  throw new EnosError(BAD, `${name} must be local time "YYYY-MM-DD HH:MM:SS" or UTC time with an offset, e.g. "2019-06-01T00:00:00+08:00"`);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Minutes east of UTC of timezone `tz` (an offset like +08:00 or an IANA name) at `epochMs`. */
export function offsetMinutes(tz: string, epochMs: number): number {
  const fixed = /^([+-])(\d{2}):(\d{2})$/.exec(tz);
  if (fixed) return (fixed[1] === '-' ? -1 : 1) * (Number(fixed[2]) * 60 + Number(fixed[3]));
  let dtf = formatters.get(tz);
  if (!dtf) {
    dtf = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(tz, dtf);
  }
  const p = Object.fromEntries(dtf.formatToParts(new Date(epochMs)).map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(Number(p['year']), Number(p['month']) - 1, Number(p['day']), Number(p['hour']), Number(p['minute']), Number(p['second']));
  return Math.round((asUtc - Math.floor(epochMs / 1000) * 1000) / 60_000);
}

/** The instant a parameter names for a device in timezone `tz`. */
export function instantOf(t: TsdbTime, tz: string): number {
  if (t.kind === 'utc') return t.epochMs;
  const first = t.wallMs - offsetMinutes(tz, t.wallMs) * 60_000;
  return t.wallMs - offsetMinutes(tz, first) * 60_000;
}

/** How `localtime` is written: `localTimeAccuracy` (milliseconds) and `localTimeFormat` (1: ISO with offset). */
export interface LocalTimeStyle {
  readonly withMs: boolean;
  readonly withOffset: boolean;
}

/** `2020-04-20 00:00:00` (format 0) or `2020-04-20T00:00:00+08:00` (format 1), in the device's timezone. */
export function formatLocalTime(epochMs: number, tz: string, style: LocalTimeStyle): string {
  const off = offsetMinutes(tz, epochMs);
  const iso = new Date(epochMs + off * 60_000).toISOString();
  const ms = style.withMs ? iso.slice(19, 23) : '';
  if (!style.withOffset) return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${ms}`;
  const abs = Math.abs(off);
  return `${iso.slice(0, 19)}${ms}${off < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
