import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meterModel, MODEL_FIELDS } from '../fixtures/models';
import { errorCode, startTestApp, type Tenant, type TestApp } from '../helpers/test-app';

let t: TestApp;
let a: Tenant;
beforeAll(async () => {
  t = await startTestApp();
  a = await t.tenant('o-models');
});
afterAll(() => t.close());

const CREATE = `mutation($input: ThingModelInput!) { createThingModel(input: $input) { ${MODEL_FIELDS} } }`;
const UPDATE = `mutation($id: ID!, $input: ThingModelInput!) { updateThingModel(identifier: $id, input: $input) { ${MODEL_FIELDS} } }`;

describe('thing models', () => {
  it('creates a model with every kind of feature and reads it back', async () => {
    const r = await t.gql(a.token, CREATE, { input: meterModel('M1') });
    expect(r.errors).toBeUndefined();
    const m = r.data!.createThingModel;
    expect(m.version).toBe(1);
    expect(m.measurePoints.map((p: { identifier: string }) => p.identifier)).toEqual(['temp', 'count', 'on', 'mode', 'note', 'snapshot', 'vector']);
    expect(m.measurePoints[0]).toMatchObject({ hasQuality: true, signalType: 'AI' });
    expect(m.measurePoints[6].type.members[1].type).toEqual({ dataType: 'ARRAY', item: { dataType: 'STRING' } });
    expect(m.events[0]).toEqual({ identifier: 'alarm', level: 'ERROR', outputData: [{ identifier: 'code' }] });
    const got = await t.gql(a.token, `{ thingModel(identifier: "M1") { identifier attributes { identifier type { dataType maxLength } } } }`);
    expect(got.data!.thingModel.attributes[0]).toEqual({ identifier: 'location', type: { dataType: 'STRING', maxLength: 32 } });
  });

  it('refuses a duplicate identifier with CONFLICT', async () => {
    await t.gql(a.token, CREATE, { input: meterModel('Dup') });
    const r = await t.gql(a.token, CREATE, { input: meterModel('Dup') });
    expect(errorCode(r)).toBe('CONFLICT');
  });

  it.each([
    ['an identifier with a space', { ...meterModel('bad id') }],
    ['an identifier longer than 128 characters', { ...meterModel('x'.repeat(129)) }],
    ['an ENUM without values', { ...meterModel('E1'), measurePoints: [{ identifier: 'e', type: { dataType: 'ENUM' } }] }],
    ['a STRUCT without members', { ...meterModel('S1'), measurePoints: [{ identifier: 's', type: { dataType: 'STRUCT' } }] }],
    ['an ARRAY without item type', { ...meterModel('A1'), measurePoints: [{ identifier: 'a', type: { dataType: 'ARRAY' } }] }],
    ['quality on a STRING point', { ...meterModel('Q1'), measurePoints: [{ identifier: 'q', type: { dataType: 'STRING' }, hasQuality: true }] }],
    ['two points with one identifier', { ...meterModel('D1'), measurePoints: [{ identifier: 'p', type: { dataType: 'INT' } }, { identifier: 'p', type: { dataType: 'INT' } }] }],
    ['a STRING maxLength above 4000', { ...meterModel('L1'), measurePoints: [{ identifier: 'p', type: { dataType: 'STRING', maxLength: 5000 } }] }],
  ])('refuses %s with BAD_USER_INPUT', async (_name, input) => {
    const r = await t.gql(a.token, CREATE, { input });
    expect(errorCode(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0]!.message).toMatch(/invalid thing model/);
  });

  it('updates a model, keeps feature identity and bumps the version', async () => {
    await t.gql(a.token, CREATE, { input: meterModel('Up') });
    const next = { ...meterModel('Up'), name: 'Renamed', measurePoints: [...meterModel('Up').measurePoints, { identifier: 'extra', type: { dataType: 'DOUBLE' } }] };
    const r = await t.gql(a.token, UPDATE, { id: 'Up', input: next });
    expect(r.errors).toBeUndefined();
    expect(r.data!.updateThingModel.name).toBe('Renamed');
    expect(r.data!.updateThingModel.version).toBe(2);
    expect(r.data!.updateThingModel.measurePoints).toHaveLength(8);
  });

  it('refuses to change a point type or remove a point while products use the model', async () => {
    await t.gql(a.token, CREATE, { input: meterModel('InUse') });
    await t.gql(a.token, `mutation { createProduct(input: { productKey: "pkInUse", name: "p", modelIdentifier: "InUse" }) { productKey } }`);
    const changed = meterModel('InUse');
    changed.measurePoints[1] = { identifier: 'count', type: { dataType: 'STRING' }, signalType: 'PI' } as never;
    const r1 = await t.gql(a.token, UPDATE, { id: 'InUse', input: changed });
    expect(errorCode(r1)).toBe('CONFLICT');
    expect(r1.errors![0]!.message).toMatch(/count cannot change type from INT to STRING/);
    const removed = { ...meterModel('InUse'), measurePoints: meterModel('InUse').measurePoints.slice(1) };
    const r2 = await t.gql(a.token, UPDATE, { id: 'InUse', input: removed });
    expect(errorCode(r2)).toBe('CONFLICT');
    // Compatible changes are still allowed: a longer STRING, a new point.
    const ok = meterModel('InUse');
    ok.measurePoints[4] = { identifier: 'note', type: { dataType: 'STRING', maxLength: 64 } } as never;
    const r3 = await t.gql(a.token, UPDATE, { id: 'InUse', input: ok });
    expect(r3.errors).toBeUndefined();
  });

  it('refuses to change the identifier through update', async () => {
    await t.gql(a.token, CREATE, { input: meterModel('Fixed') });
    const r = await t.gql(a.token, UPDATE, { id: 'Fixed', input: meterModel('Other') });
    expect(errorCode(r)).toBe('BAD_USER_INPUT');
  });

  it('deletes an unused model and refuses to delete one that products use', async () => {
    await t.gql(a.token, CREATE, { input: meterModel('Del') });
    const r = await t.gql(a.token, `mutation { deleteThingModel(identifier: "Del") }`);
    expect(r.data!.deleteThingModel).toBe(true);
    expect(errorCode(await t.gql(a.token, `{ thingModel(identifier: "Del") { name } }`))).toBe('NOT_FOUND');
    await t.gql(a.token, CREATE, { input: meterModel('Del2') });
    await t.gql(a.token, `mutation { createProduct(input: { productKey: "pkDel2", name: "p", modelIdentifier: "Del2" }) { productKey } }`);
    const refused = await t.gql(a.token, `mutation { deleteThingModel(identifier: "Del2") }`);
    expect(errorCode(refused)).toBe('CONFLICT');
    expect(refused.errors![0]!.message).toMatch(/used by 1 product/);
  });

  it('exports a model as JSON and imports it back, and refuses to overwrite without replace', async () => {
    await t.gql(a.token, CREATE, { input: meterModel('Exp') });
    const exp = await t.gql(a.token, `{ exportThingModel(identifier: "Exp") }`);
    const doc = exp.data!.exportThingModel;
    expect(doc.identifier).toBe('Exp');
    const b = await t.tenant('o-models-import');
    const imp = await t.gql(b.token, `mutation($d: JSON!) { importThingModel(document: $d) { ${MODEL_FIELDS} } }`, { d: doc });
    expect(imp.errors).toBeUndefined();
    const orig = await t.gql(a.token, `{ thingModel(identifier: "Exp") { ${MODEL_FIELDS} } }`);
    expect(imp.data!.importThingModel).toEqual(orig.data!.thingModel);
    const again = await t.gql(b.token, `mutation($d: JSON!) { importThingModel(document: $d) { version } }`, { d: doc });
    expect(errorCode(again)).toBe('CONFLICT');
    const replaced = await t.gql(b.token, `mutation($d: JSON!) { importThingModel(document: $d, replace: true) { version } }`, { d: { ...doc, name: 'v2' } });
    expect(replaced.data!.importThingModel.version).toBe(2);
  });

  it('refuses an imported document that is not a valid model', async () => {
    const r = await t.gql(a.token, `mutation($d: JSON!) { importThingModel(document: $d) { version } }`, { d: { identifier: 'x', measurePoints: 'nope' } });
    expect(errorCode(r)).toBe('BAD_USER_INPUT');
  });

  it('lists models as a connection with pagination and a name search', async () => {
    const c = await t.tenant('o-models-list');
    for (const id of ['L1', 'L2', 'L3']) await t.gql(c.token, CREATE, { input: { ...meterModel(id), name: `list ${id}` } });
    const p1 = await t.gql(c.token, `{ thingModels(first: 2) { totalCount edges { cursor node { identifier } } pageInfo { hasNextPage endCursor } } }`);
    expect(p1.data!.thingModels.totalCount).toBe(3);
    expect(p1.data!.thingModels.edges.map((e: { node: { identifier: string } }) => e.node.identifier)).toEqual(['L1', 'L2']);
    expect(p1.data!.thingModels.pageInfo.hasNextPage).toBe(true);
    const p2 = await t.gql(c.token, `query($after: String) { thingModels(first: 2, after: $after) { edges { node { identifier } } pageInfo { hasNextPage } } }`, { after: p1.data!.thingModels.pageInfo.endCursor });
    expect(p2.data!.thingModels.edges.map((e: { node: { identifier: string } }) => e.node.identifier)).toEqual(['L3']);
    expect(p2.data!.thingModels.pageInfo.hasNextPage).toBe(false);
    const s = await t.gql(c.token, `{ thingModels(filter: { search: "L2" }) { totalCount } }`);
    expect(s.data!.thingModels.totalCount).toBe(1);
  });

  it('refuses a page larger than the bound and a forged cursor', async () => {
    expect(errorCode(await t.gql(a.token, `{ thingModels(first: 500) { totalCount } }`))).toBe('BAD_USER_INPUT');
    expect(errorCode(await t.gql(a.token, `{ thingModels(after: "garbage") { totalCount } }`))).toBe('BAD_USER_INPUT');
  });
});
