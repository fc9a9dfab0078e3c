import { sql, type SQL } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import { checkConfirmations, type Confirmation } from '../auth/speculation';
import { AppError, ErrorCode } from '../errors';
import { queryRows, type DbOrTx } from '../storage/db';
import type { IngestDevice } from './resolve-devices';

/*
 * What ingest takes from memory, and its confirmation in the write transaction: the devices
 * (here) and the caller behind the token (auth/speculation.ts, deferred).
 *
 * Devices from memory. Ingest remembers the devices it resolved, by organisation and asset id,
 * and a later call naming only remembered devices skips the lookup. The write transaction then
 * confirms them, all the batches of a transaction in one statement, before it commits
 * (group-commit.ts): a device deleted, disabled, renamed, moved to another product or whose model
 * changed since fails the confirmation, and its call runs again with the devices read afresh. So
 * nothing is stored that the lookup would have refused at the time of the transaction, while a
 * stream of small calls costs one device statement per transaction instead of one per call.
 */

/** Most devices remembered per instance; the least recently used go first. */
const DEVICES_MAX = 100_000;

/** The devices an instance remembers for ingest. */
export interface IngestDeviceCache {
  /** The remembered devices of `orgId` named by these asset ids, or null unless every one is remembered. */
  getAll(orgId: string, assetIds: Iterable<string>): IngestDevice[] | null;
  remember(orgId: string, devices: readonly IngestDevice[]): void;
  forget(orgId: string, assetIds: Iterable<string>): void;
  /** Records a committed last-update time (epoch ms) so that the next call knows it (devicesToTouch). */
  touched(orgId: string, kind: 'points' | 'attributes' | 'events', deviceIds: ReadonlySet<number>, atMs: number): void;
}

const keyOf = (orgId: string, assetId: string) => `${orgId}\u0000${assetId}`;

/** Creates an empty cache (one per instance). */
export function createIngestDeviceCache(max = DEVICES_MAX): IngestDeviceCache {
  /** Key of each remembered device id, for {@link IngestDeviceCache.touched}. */
  const keys = new Map<number, string>();
  const cache = new LRUCache<string, IngestDevice>({ max, dispose: (d, k) => keys.get(d.id) === k && keys.delete(d.id) });
  return {
    getAll(orgId, assetIds) {
      const out: IngestDevice[] = [];
      for (const a of assetIds) {
        const d = cache.get(keyOf(orgId, a));
        if (!d) return null;
        out.push(d);
      }
      return out;
    },
    remember(orgId, devices) {
      for (const d of devices) {
        const k = keyOf(orgId, d.assetId);
        cache.set(k, d);
        keys.set(d.id, k);
      }
    },
    forget(orgId, assetIds) {
      for (const a of assetIds) cache.delete(keyOf(orgId, a));
    },
    touched(orgId, kind, deviceIds, atMs) {
      const field = kind === 'points' ? 'measurepointLastUpdate' : kind === 'events' ? 'eventLastUpdate' : 'attributeLastUpdate';
      for (const id of deviceIds) {
        const k = keys.get(id);
        const d = k === undefined ? undefined : cache.peek(k);
        if (!k || !d || !k.startsWith(`${orgId}\u0000`)) continue;
        cache.set(k, { ...d, [field]: atMs, status: d.status === 'inactive' ? 'online' : d.status });
        keys.set(id, k);
      }
    },
  };
}

/** What a remembered device must still be for a call that used it: the columns of the lookup that ingest relies on. */
export interface DeviceFacts {
  readonly orgId: string;
  readonly devices: readonly IngestDevice[];
}

/** The current state of `ids`, as {@link sameDevice} compares it. */
export function deviceFactsSql(ids: readonly number[]): SQL {
  return sql`select d.id, d.org_id, d.asset_id, p.product_key, d.device_key, p.model_id, m.version, d.enabled
        from devices d join products p on p.id = d.product_id join thing_models m on m.id = p.model_id
        where d.id = any(${sql.param([...ids])}::int4[])`;
}

/** A row of {@link deviceFactsSql}. */
export interface DeviceFactRow {
  readonly id: number;
  readonly org_id: string;
  readonly asset_id: string;
  readonly product_key: string;
  readonly device_key: string;
  readonly model_id: number;
  readonly version: number;
  readonly enabled: boolean;
}

/** Whether a remembered device is still what the database holds. */
export function sameDevice(orgId: string, d: IngestDevice, r: DeviceFactRow | undefined): boolean {
  return !!r && r.org_id === orgId && Number(r.id) === d.id && r.asset_id === d.assetId && r.product_key === d.productKey && r.device_key === d.deviceKey && Number(r.model_id) === d.modelId && Number(r.version) === d.modelVersion && r.enabled === d.enabled;
}

/** Facts a call took from memory, confirmed by its write transaction (or alone, when it writes nothing). */
export interface WriteFacts {
  /** Remembered devices. */
  readonly devices?: DeviceFacts | undefined;
  /** The caller behind the token, as remembered (auth/speculation.ts). */
  readonly caller?: readonly Confirmation[] | undefined;
}

/**
 * Confirms `facts` in one statement on `db` (a write transaction or the pool); what no longer holds
 * raises {@link StaleCaller} (first) or {@link StaleDevices}.
 */
export async function confirmFacts(db: DbOrTx, facts: readonly WriteFacts[]): Promise<(StaleCaller | StaleDevices | null)[]> {
  const ids = new Set<number>();
  for (const f of facts) for (const d of f.devices?.devices ?? []) ids.add(d.id);
  const callerChecks = facts.flatMap((f) => f.caller ?? []);
  if (!ids.size && !callerChecks.length) return facts.map(() => null);
  let current = new Map<number, DeviceFactRow>();
  const devicesCheck: Confirmation = {
    query: deviceFactsSql([...ids]),
    check: (rows) => {
      current = new Map(rows.map((r) => [Number(r['id']), r as unknown as DeviceFactRow]));
      return true;
    },
  };
  const verdicts = await checkConfirmations(db, ids.size ? [...callerChecks, devicesCheck] : callerChecks);
  const held = new Map(callerChecks.map((c, i) => [c, verdicts[i]!]));
  return facts.map((f) => {
    if ((f.caller ?? []).some((c) => !held.get(c))) return new StaleCaller();
    const stale = (f.devices?.devices ?? []).filter((d) => !sameDevice(f.devices!.orgId, d, current.get(d.id)));
    return stale.length ? new StaleDevices(stale.map((d) => d.assetId)) : null;
  });
}

/**
 * Whether every fact of `facts` can be asserted on the server ({@link assertFacts}): remembered
 * devices always can, a remembered caller when its confirmation carries an assertion.
 */
export function assertable(facts: readonly (WriteFacts | undefined)[]): boolean {
  return facts.every((f) => (f?.caller ?? []).every((c) => !!c.assertion));
}

/** SQLSTATE of `tributary_confirm` (drizzle/0010_confirm_remembered_facts.sql) when a fact no longer holds. */
const FACT_CHANGED = 'TRB01';

/**
 * Asserts `facts` (see {@link assertable}) on the server in one statement, with no answer to read
 * before the transaction goes on: when one no longer holds, the statement fails with
 * {@link StaleFacts}, and so does the transaction (the statements after it fail, the COMMIT
 * answers as a ROLLBACK). Which fact changed, and for which call, the caller learns by confirming
 * them with {@link confirmFacts}. Resolves at once when there is nothing to assert.
 * PERF: the transaction's COMMIT can then travel with its first statements: one round trip.
 */
export async function assertFacts(db: DbOrTx, facts: readonly (WriteFacts | undefined)[]): Promise<void> {
  const held: SQL[] = [];
  const asserted = new Set<string>();
  const devices: { orgId: string; d: IngestDevice }[] = [];
  for (const f of facts) {
    for (const c of f?.caller ?? []) {
      if (!c.assertion) throw new Error('a remembered caller without an assertion');
      // NOTE: the same assertion (by key) is built and sent once.
      const assertion = c.assertion();
      if (asserted.has(assertion.key)) continue;
      asserted.add(assertion.key);
      held.push(assertion.holds);
    }
    for (const d of f?.devices?.devices ?? []) devices.push({ orgId: f!.devices!.orgId, d });
  }
  // Every remembered device is one row of the lookup with the same values: as many matches as devices.
  if (devices.length) {
    const col = <T>(get: (x: { orgId: string; d: IngestDevice }) => T) => sql.param(devices.map(get));
    held.push(sql`(select count(*) from devices d join products p on p.id = d.product_id join thing_models m on m.id = p.model_id
        join unnest(${col((x) => x.d.id)}::int4[], ${col((x) => x.orgId)}::text[], ${col((x) => x.d.assetId)}::text[], ${col((x) => x.d.productKey)}::text[],
                    ${col((x) => x.d.deviceKey)}::text[], ${col((x) => x.d.modelId)}::int4[], ${col((x) => x.d.modelVersion)}::int4[], ${col((x) => String(x.d.enabled))}::text[])
          as e(id, org_id, asset_id, product_key, device_key, model_id, version, enabled)
          on d.id = e.id and d.org_id = e.org_id and d.asset_id = e.asset_id and p.product_key = e.product_key and d.device_key = e.device_key
             and p.model_id = e.model_id and m.version = e.version and d.enabled = e.enabled::bool) = ${devices.length}`);
  }
  if (!held.length) return;
  try {
    await queryRows(db, sql`select tributary_confirm(${sql.join(held, sql` and `)})`);
  } catch (e) {
    const code = (e as { code?: unknown; cause?: { code?: unknown } }).code ?? (e as { cause?: { code?: unknown } }).cause?.code;
    throw code === FACT_CHANGED ? new StaleFacts() : e;
  }
}

/**
 * Raised (to the call only) when the caller a call took from memory no longer holds: the
 * transport runs the call again once the token is checked, so a client never sees this answer.
 * NOTE: an AppError so that it is not logged as an internal error.
 */
export class StaleCaller extends AppError {
  constructor() {
    super(ErrorCode.UNAUTHENTICATED, 'the access token changed since it was last checked');
  }
}

/** Raised by {@link assertFacts} when a remembered fact no longer holds: nothing of the transaction is stored. */
export class StaleFacts extends Error {
  constructor() {
    super('a remembered fact no longer holds');
  }
}

/** Raised (to the call only) when a remembered device no longer holds; the call runs again with fresh devices. */
export class StaleDevices extends Error {
  constructor(readonly assetIds: readonly string[]) {
    super('remembered devices changed');
  }
}
