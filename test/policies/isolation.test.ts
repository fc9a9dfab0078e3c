import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestApp, type TestApp, type Tenant } from '../helpers/test-app';
import { Q, setupMeters } from './fixtures';

let t: TestApp;
let owner: Tenant;
let stranger: Tenant;
let reader: Tenant;
let writerOnly: Tenant;

beforeAll(async () => {
  t = await startTestApp();
  owner = await t.tenant('o-iso-a');
  await setupMeters(t, owner, 'pkIsoA', 1);
  expect((await t.gql(owner.token, Q.setProcessing, { m: 'Meter', p: 'temp', i: { steps: [{ scale: { multiplier: 2 } }] } })).errors).toBeUndefined();
  expect((await t.gql(owner.token, Q.setStorage, { m: 'Meter', i: { name: 'g', points: ['temp'], forms: [{ form: 'RAW', retentionDays: 10 }] } })).errors).toBeUndefined();
  expect((await t.gql(owner.token, Q.setComputed, { m: 'Meter', i: { point: 'kw', expression: 'voltage * current' } })).errors).toBeUndefined();
  stranger = await t.tenant('o-iso-b');
  reader = await t.tenant('o-iso-a', [{ permission: 'REGISTRY_READ' }]);
  writerOnly = await t.tenant('o-iso-a', [{ permission: 'ASSET_WRITE' }, { permission: 'ASSET_READ' }]);
});
afterAll(() => t.close());

/** Every policy operation, with variables that name the owner's model. */
const OPERATIONS: { name: string; doc: string; vars: Record<string, unknown>; write: boolean }[] = [
  { name: 'modelPolicies', doc: Q.modelPolicies, vars: { m: 'Meter' }, write: false },
  { name: 'effectivePointPolicy', doc: Q.effective, vars: { m: 'Meter', p: 'temp' }, write: false },
  { name: 'setProcessingPolicy', doc: Q.setProcessing, vars: { m: 'Meter', p: 'temp', i: { steps: [] } }, write: true },
  { name: 'deleteProcessingPolicy', doc: Q.deleteProcessing, vars: { m: 'Meter', p: 'temp' }, write: true },
  { name: 'setStoragePolicy', doc: Q.setStorage, vars: { m: 'Meter', i: { name: 'g', points: ['temp'], forms: [] } }, write: true },
  { name: 'deleteStoragePolicy', doc: Q.deleteStorage, vars: { m: 'Meter', n: 'g' }, write: true },
  { name: 'setComputedPoint', doc: Q.setComputed, vars: { m: 'Meter', i: { point: 'kw', expression: 'voltage' } }, write: true },
  { name: 'deleteComputedPoint', doc: Q.deleteComputed, vars: { m: 'Meter', p: 'kw' }, write: true },
];

describe('policy operations are isolated between organisations', () => {
  it.each(OPERATIONS.map((o) => [o.name, o] as const))("answers %s on another organisation's model with NOT_FOUND", async (_, op) => {
    const r = await t.gql(stranger.token, op.doc, op.vars);
    expect(errorCode(r)).toBe('NOT_FOUND');
  });

  it.each(OPERATIONS.map((o) => [o.name, o] as const))('refuses %s without a registry grant with FORBIDDEN', async (_, op) => {
    expect(errorCode(await t.gql(writerOnly.token, op.doc, op.vars))).toBe('FORBIDDEN');
  });

  it.each(OPERATIONS.filter((o) => o.write).map((o) => [o.name, o] as const))('refuses %s with only REGISTRY_READ with FORBIDDEN', async (_, op) => {
    expect(errorCode(await t.gql(reader.token, op.doc, op.vars))).toBe('FORBIDDEN');
  });

  it('lets REGISTRY_READ read the policies, unchanged by the refused attempts', async () => {
    const r = await t.gql(reader.token, Q.modelPolicies, { m: 'Meter' });
    expect(r.errors).toBeUndefined();
    expect(r.data?.['modelPolicies']).toMatchObject({ model: 'Meter', processing: [{ point: 'temp' }], storage: [{ name: 'g', points: ['temp'], forms: [{ form: 'RAW', retentionDays: 10 }] }], computed: [{ point: 'kw', kind: 'EXPRESSION' }] });
  });
});
