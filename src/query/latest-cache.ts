import { sql, type SQL } from 'drizzle-orm';
import { toValueCells } from '../ingest/bulk-write';
import type { LiveHub } from '../live/hub';
import { headOffsetSql } from '../live/log';
import type { LogMessage } from '../live/message';
import type { Logger } from '../log';
import type { Feature } from '../registry/models';
import { queryRows, type DbOrTx } from '../storage/db';
import type { FeatureIndex, SelectedDevice } from './selection';
import { epochMs, intArray, valueOf, type ValueColumns } from './sql-util';

/*
 * The latest values of the devices an instance was asked about, kept in memory and moved by the
 * message log (live/hub.ts), so that a dashboard polling thousands of latest values is answered
 * without reading them from the database again.
 *
 * Why an answer is never older than the database at the time of the request:
 * - Every write of latest_values is an ingest transaction that appends its batch to the log in the
 *   same transaction, and log offsets follow commit order (live/log.ts, LOG_APPEND_LOCK).
 * - A read first asks the database for the log head H (one small statement, sent after the
 *   request started, so H covers every acknowledged write), then waits until this instance's hub
 *   has dispatched everything up to H. A device's entry is loaded from latest_values together
 *   with the head of the same snapshot (its `asOf`); messages after `asOf` are applied to it as the
 *   hub dispatches them, with the rule of the SQL upsert (a value replaces one at the same time or
 *   older; offline data never moves latest values), and messages dispatched while the load ran are
 *   replayed onto it.
 * - What names a device or fixes its model's points moves the organisation's registry epoch
 *   (drizzle/0004): a read at another epoch than the cached one starts the organisation afresh.
 * - If retention removed messages before the hub read them (LiveHub.onLost), every organisation
 *   starts afresh.
 * When any step cannot be taken in time (the hub lags, the registry moved under a load), the
 * caller reads the database as before.
 */

/** A latest value of a point, as the API returns it. */
export interface LatestValue {
  /** Epoch milliseconds. */
  readonly t: number;
  readonly value: unknown;
  readonly quality: number | null;
}

/** The latest values one request read, by device id and point. */
export interface LatestLookup {
  get(deviceId: number, point: Feature): LatestValue | undefined;
}

interface DeviceEntry {
  /** The log head of the snapshot the entry was loaded from: messages up to it are in `values`. */
  readonly asOf: number;
  readonly modelId: number;
  /** By point identifier. */
  readonly values: Map<string, LatestValue>;
}

interface OrgState {
  readonly epoch: number;
  readonly devices: Map<number, DeviceEntry>;
  /** Measurement points of the models of cached devices, as at `epoch`. */
  readonly points: Map<number, ReadonlyMap<string, Feature>>;
  /** Messages dispatched while loads are running (replayed onto the loaded entries). */
  buffer: LogMessage[] | null;
  loading: number;
  lastRead: number;
  /** Devices plus values kept (what counts against the bound). */
  weight: number;
  readonly untap: () => void;
}

/** Counters of a cache. */
export interface LatestCacheStats {
  readonly organisations: number;
  readonly devices: number;
  readonly values: number;
  /** Reads answered from memory. */
  readonly hits: number;
  /** Reads left to the database (hub behind, registry moving, cache full). */
  readonly misses: number;
}

/** See the comment at the top of this module. */
export interface LatestCache {
  /**
   * The latest values of every point of `devices`, at least as fresh as the database when the
   * call started; null when the cache cannot answer now (the caller reads the database). The
   * lookup reads entries that the log keeps moving: a caller reads what it needs in one
   * synchronous pass, so that its answer holds whole messages only.
   */
  read(db: DbOrTx, orgId: string, devices: readonly SelectedDevice[], index: FeatureIndex): Promise<LatestLookup | null>;
  stats(): LatestCacheStats;
  close(): void;
}

/** Options of {@link createLatestCache}. */
export interface LatestCacheOptions {
  readonly hub: LiveHub;
  readonly log: Logger;
  /** Most values kept, all organisations together, a device counting as one more (LATEST_CACHE_MAX_VALUES); 0 disables the cache. */
  readonly maxValues: number;
  /**
   * How long a read waits for the hub to reach the log head before reading the database
   * (LATEST_CACHE_CATCH_UP_MS): the hub is usually a few milliseconds behind; under heavy ingest
   * it may be a hundred or more, and a read should not wait for it longer than the database would take.
   */
  readonly catchUpMs: number;
  /** An organisation not read for this long is forgotten (and its messages no longer decoded for the cache). */
  readonly idleMs?: number;
}

/**
 * The value the API returns for a logged value of a point: the one the database would give back.
 * NOTE: the log's payload is jsonb, so a struct arrives with its keys in jsonb's order, as
 * `latest_values` gives them (the cache tests compare the JSON text).
 */
function apiValue(f: Feature, v: unknown): unknown {
  if (!f.type) return v;
  const cells = toValueCells(f.type.dataType, v as never);
  return cells.json !== null ? JSON.parse(cells.json) : valueOf(cells);
}

/** The log head and the organisation's registry epoch (null when it no longer exists), read together: one row. */
function logStateSql(orgId: string): SQL {
  return sql`select (${headOffsetSql()}) as head, (select registry_epoch::float8 from organisations where id = ${orgId}) as epoch`;
}

type LoadRow = ValueColumns & { head: number; epoch: number | null; device_id: number | null; point_id: number | null; t: number | null; quality: number | null };

/** Creates the cache of an instance. */
export function createLatestCache(opts: LatestCacheOptions): LatestCache {
  const { hub, maxValues, catchUpMs } = opts;
  const idleMs = opts.idleMs ?? 600_000;
  const orgs = new Map<string, OrgState>();
  /** The weight of every organisation together. */
  let size = 0;
  let hits = 0;
  let misses = 0;

  function drop(orgId: string): void {
    const org = orgs.get(orgId);
    if (!org) return;
    org.untap();
    size -= org.weight;
    orgs.delete(orgId);
  }

  /** Applies a real-time message to the entries loaded before it. */
  function apply(org: OrgState, m: LogMessage, only?: ReadonlyMap<number, DeviceEntry>): void {
    if (m.channel !== 'REALTIME') return;
    for (const p of m.points) {
      const id = p.device.deviceId;
      const entry = (only ?? org.devices).get(id);
      if (!entry || m.offset <= entry.asOf) continue;
      const f = entry.modelId === p.device.modelId ? org.points.get(entry.modelId)?.get(p.identifier) : undefined;
      if (!f) {
        // NOTE: the registry moved (the next read starts afresh); this device is no longer known.
        if (!only && org.devices.delete(id)) resize(org, -1 - entry.values.size);
        continue;
      }
      const cur = entry.values.get(p.identifier);
      if (cur && p.time < cur.t) continue;
      entry.values.set(p.identifier, { t: p.time, value: apiValue(f, p.value), quality: p.quality });
      // NOTE: a new point of a kept device may take the cache past its bound until the next load makes room.
      if (!cur && !only) resize(org, 1);
    }
  }

  function resize(org: OrgState, by: number): void {
    org.weight += by;
    size += by;
  }

  function orgState(orgId: string, epoch: number): OrgState | null {
    const cur = orgs.get(orgId);
    if (cur && cur.epoch === epoch) return cur;
    // NOTE: a read that saw an older epoch than the cached one is answered by the database.
    if (cur && cur.epoch > epoch) return null;
    drop(orgId);
    const org: OrgState = {
      epoch,
      devices: new Map(),
      points: new Map(),
      buffer: null,
      loading: 0,
      lastRead: Date.now(),
      weight: 0,
      untap: hub.tap(orgId, (m) => {
        org.buffer?.push(m);
        apply(org, m);
      }),
    };
    orgs.set(orgId, org);
    return org;
  }

  /**
   * Loads the entries of devices with the log head and the registry epoch of the same snapshot,
   * replays onto them what the hub dispatched meanwhile, and keeps those that fit. Null when the
   * registry moved meanwhile.
   * NOTE: everything after the query, to the end of the buffering, runs in one synchronous pass: a
   * message dispatched in between would reach neither the buffer nor the entries.
   */
  async function load(db: DbOrTx, orgId: string, org: OrgState, devs: readonly SelectedDevice[], index: FeatureIndex): Promise<Map<number, DeviceEntry> | null> {
    if (!org.loading++) org.buffer = [];
    const buffer = org.buffer!;
    try {
      const rows = await queryRows<LoadRow>(
        db,
        sql`select s.head, s.epoch, d.id as device_id, l.point_id, ${epochMs(sql`l.time`)} as t, l.num, l.bool, l.txt, l.json, l.quality
            from (${logStateSql(orgId)}) s
            left join devices d on d.org_id = ${orgId} and d.id = any(${intArray(devs.map((d) => d.id))})
            left join latest_values l on l.device_id = d.id`,
      );
      if (orgs.get(orgId) !== org || rows[0]?.epoch == null || Number(rows[0].epoch) !== org.epoch) return null;
      const head = Number(rows[0].head);
      // NOTE: only devices of the organisation are kept (a device of another one makes the read go to the database).
      const present = new Set(rows.map((r) => r.device_id));
      if (devs.some((d) => !present.has(d.id))) return null;
      const entries = new Map<number, DeviceEntry>();
      const names = new Map<number, string>();
      for (const d of devs) {
        const feats = index.get(d.modelId) ?? new Map<string, Feature>();
        org.points.set(d.modelId, feats);
        for (const f of feats.values()) names.set(f.id, f.identifier);
        entries.set(d.id, { asOf: head, modelId: d.modelId, values: new Map() });
      }
      for (const r of rows) {
        if (r.point_id === null) continue;
        const name = names.get(r.point_id);
        if (name !== undefined) entries.get(r.device_id!)?.values.set(name, { t: r.t!, value: valueOf(r), quality: r.quality });
      }
      for (const m of buffer) if (m.offset > head) apply(org, m, entries);
      const fresh = [...entries].filter(([id, e]) => org.devices.get(id)?.modelId !== e.modelId);
      const weightOf = (e: DeviceEntry | undefined) => (e ? 1 + e.values.size : 0);
      const added = fresh.reduce((n, [id, e]) => n + weightOf(e) - weightOf(org.devices.get(id)), 0);
      if (makeRoom(orgId, added)) {
        for (const [id, e] of fresh) org.devices.set(id, e);
        resize(org, added);
      }
      // NOTE: an entry already kept (loaded by a concurrent read) is as fresh; one that could not be kept still answers this read.
      for (const id of entries.keys()) entries.set(id, org.devices.get(id) ?? entries.get(id)!);
      return entries;
    } finally {
      if (!--org.loading) org.buffer = null;
    }
  }

  /** Makes room for a weight of `n` more by forgetting the organisations read least recently; false when it cannot. */
  function makeRoom(keep: string, n: number): boolean {
    if (size + n <= maxValues) return true;
    for (const [orgId] of [...orgs].filter(([id]) => id !== keep).sort((a, b) => a[1].lastRead - b[1].lastRead)) {
      drop(orgId);
      if (size + n <= maxValues) return true;
    }
    return false;
  }

  async function answer(db: DbOrTx, orgId: string, devs: readonly SelectedDevice[], index: FeatureIndex): Promise<Map<number, DeviceEntry> | null> {
    const [state] = await queryRows<{ head: number; epoch: number | null }>(
      db,
      logStateSql(orgId),
    );
    if (!state || state.epoch === null || !(await hub.catchUp(Number(state.head), catchUpMs))) return null;
    const org = orgState(orgId, Number(state.epoch));
    if (!org) return null;
    org.lastRead = Date.now();
    const found = new Map<number, DeviceEntry>();
    const missing: SelectedDevice[] = [];
    for (const d of devs) {
      const e = org.devices.get(d.id);
      if (e && e.modelId === d.modelId) found.set(d.id, e);
      else missing.push(d);
    }
    if (missing.length) {
      const loaded = await load(db, orgId, org, missing, index);
      if (!loaded) return null;
      for (const [id, e] of loaded) found.set(id, e);
    }
    return found;
  }

  // NOTE: the hub missed messages (retention removed them first): what is held may miss them too.
  const unlisten = hub.onLost(() => {
    for (const orgId of [...orgs.keys()]) drop(orgId);
  });

  const sweep = setInterval(() => {
    const cutoff = Date.now() - idleMs;
    for (const [orgId, org] of orgs) if (org.lastRead < cutoff && !org.loading) drop(orgId);
  }, Math.max(1_000, idleMs / 2));
  sweep.unref();

  return {
    async read(db, orgId, devs, index) {
      if (!maxValues || devs.length > maxValues) return null;
      let found: Map<number, DeviceEntry> | null;
      try {
        found = await answer(db, orgId, devs, index);
      } catch (err) {
        opts.log.warn({ err }, 'latest-values cache failed; reading the database');
        found = null;
      }
      if (!found) {
        misses++;
        return null;
      }
      hits++;
      const entries = found;
      return { get: (deviceId, point) => entries.get(deviceId)?.values.get(point.identifier) };
    },
    stats() {
      const devices = [...orgs.values()].reduce((n, o) => n + o.devices.size, 0);
      return { organisations: orgs.size, devices, values: size - devices, hits, misses };
    },
    close() {
      clearInterval(sweep);
      unlisten();
      for (const orgId of [...orgs.keys()]) drop(orgId);
    },
  };
}
