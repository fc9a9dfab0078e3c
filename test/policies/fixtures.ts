import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { queryRows } from '../../src/storage/db';
import type { TestApp, Tenant } from '../helpers/test-app';
import { setupModelDevices } from '../fixtures/devices';

/** A meter model: reported points, points to compute, and a few of other types. */
export const METER_MODEL = {
  identifier: 'Meter',
  name: 'Meter',
  measurePoints: [
    { identifier: 'voltage', type: { dataType: 'DOUBLE' }, hasQuality: true },
    { identifier: 'current', type: { dataType: 'DOUBLE' }, hasQuality: true },
    { identifier: 'power', type: { dataType: 'DOUBLE' } },
    { identifier: 'temp', type: { dataType: 'DOUBLE' } },
    { identifier: 'counter', type: { dataType: 'INT' } },
    { identifier: 'level', type: { dataType: 'DOUBLE' }, hasQuality: true },
    { identifier: 'state', type: { dataType: 'ENUM', enumValues: [{ key: '0' }, { key: '1' }, { key: '2' }] } },
    { identifier: 'label', type: { dataType: 'STRING' } },
    { identifier: 'kw', type: { dataType: 'DOUBLE' } },
    { identifier: 'power_avg10m', type: { dataType: 'DOUBLE' } },
  ],
};

/** A fixed base time (2023-11-14T22:13:20Z), on no particular bucket boundary. */
export const T0 = 1_700_000_000_000;

/** Creates the Meter model (once per org), a product and `n` devices; returns their assetIds. */
export async function setupMeters(t: TestApp, tenant: Tenant, productKey: string, n: number): Promise<string[]> {
  return setupModelDevices(t, tenant, METER_MODEL, productKey, n);
}

const POST_POINTS = `mutation($items: [PointsItemInput!]!, $channel: Channel) {
  postMeasurePoints(items: $items, channel: $channel) { accepted rejected errors { index identifier code reason } }
}`;

/** Posts points through GraphQL and expects success. */
export async function post(t: TestApp, tenant: Tenant, items: readonly { assetId: string; time: number; values: Record<string, unknown> }[], channel: 'REALTIME' | 'OFFLINE' = 'REALTIME') {
  const r = await t.gql(tenant.token, POST_POINTS, { items, channel });
  expect(r.errors).toBeUndefined();
  return r.data as { postMeasurePoints: { accepted: number } };
}

/** One stored row of a time-series table for an asset and point. */
export interface Row {
  readonly t: number;
  readonly num: number | null;
  readonly txt: string | null;
  readonly quality: number | null;
}

/** Rows of `table` (point_data, point_raw_values, point_normalized_1m, latest_values) for an asset and point, by time. */
export async function rows(t: TestApp, table: 'point_data' | 'point_raw_values' | 'point_normalized_1m' | 'latest_values', assetId: string, point: string): Promise<Row[]> {
  const r = await queryRows<{ t: string; num: number | null; txt: string | null; quality: number | null }>(
    t.db,
    sql`select (extract(epoch from x.time) * 1000)::float8 as t, x.num, x.txt, x.quality
        from ${sql.identifier(table)} x join devices d on d.id = x.device_id join model_features f on f.id = x.point_id
        where d.asset_id = ${assetId} and f.identifier = ${point} order by x.time`,
  );
  return r.map((x) => ({ t: Number(x.t), num: x.num === null ? null : Number(x.num), txt: x.txt, quality: x.quality === null ? null : Number(x.quality) }));
}

/** GraphQL documents of the policy operations. */
export const Q = {
  setProcessing: `mutation($m: ID!, $p: String!, $i: ProcessingPolicyInput!) { setProcessingPolicy(model: $m, point: $p, input: $i) { point keepRaw modelVersion steps { kind multiplier offset min max action delta intervalS mapping } } }`,
  deleteProcessing: `mutation($m: ID!, $p: String!) { deleteProcessingPolicy(model: $m, point: $p) }`,
  setStorage: `mutation($m: ID!, $i: StoragePolicyInput!) { setStoragePolicy(model: $m, input: $i) { name points forms { form retentionDays } modelVersion } }`,
  deleteStorage: `mutation($m: ID!, $n: String!) { deleteStoragePolicy(model: $m, name: $n) }`,
  setComputed: `mutation($m: ID!, $i: ComputedPointInput!) { setComputedPoint(model: $m, input: $i) { point kind expression window { source function sizeS } inputs modelVersion } }`,
  deleteComputed: `mutation($m: ID!, $p: String!) { deleteComputedPoint(model: $m, point: $p) }`,
  modelPolicies: `query($m: ID!) { modelPolicies(model: $m) { model modelVersion revision processing { point } storage { name points forms { form retentionDays } } computed { point kind } } }`,
  effective: `query($m: ID!, $p: String!) { effectivePointPolicy(model: $m, point: $p) { model point modelVersion revision processing { steps { kind } keepRaw } storage { source policyName forms { form retentionDays } latestOnly } computed { kind expression } } }`,
};
