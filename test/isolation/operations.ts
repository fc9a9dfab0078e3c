import type { Permission } from '../../src/auth/permissions';
import { meterModel } from '../fixtures/models';
import type { OrgFixtures } from './fixtures';

/**
 * One GraphQL operation of the isolation matrix. Adding an operation is one entry:
 * the permission it needs, the document, and its variables built from the target
 * organisation's fixtures (fresh fixtures are made for every run, so destructive
 * operations are fine).
 */
export interface GraphQLMatrixOp {
  readonly name: string;
  readonly permission: Permission;
  readonly query: string;
  readonly vars: (f: OrgFixtures) => Record<string, unknown>;
  /** false for operations that target nothing of another organisation (e.g. creating a new model). */
  readonly crossOrg?: boolean;
  /** Permissions the allowed caller also needs (e.g. REGISTRY_READ to reach a device field). */
  readonly alsoNeeds?: readonly Permission[];
}

const op = (name: string, permission: Permission, query: string, vars: (f: OrgFixtures) => Record<string, unknown> = () => ({}), crossOrg = true): GraphQLMatrixOp => ({ name, permission, query, vars, crossOrg });

/** Every GraphQL operation that exists. */
export const graphqlOperations: readonly GraphQLMatrixOp[] = [
  // Registry: reads
  op('thingModel', 'REGISTRY_READ', 'query($m: ID!) { thingModel(identifier: $m) { identifier } }', (f) => ({ m: f.model })),
  op('thingModels', 'REGISTRY_READ', '{ thingModels { totalCount edges { node { identifier } } } }'),
  op('exportThingModel', 'REGISTRY_READ', 'query($m: ID!) { exportThingModel(identifier: $m) }', (f) => ({ m: f.model })),
  op('product', 'REGISTRY_READ', 'query($k: ID!) { product(productKey: $k) { productKey } }', (f) => ({ k: f.productKey })),
  op('products', 'REGISTRY_READ', '{ products { totalCount edges { node { productKey } } } }'),
  op('device by assetId', 'REGISTRY_READ', 'query($a: ID!) { device(assetId: $a) { assetId } }', (f) => ({ a: f.assetId })),
  op('device by keys', 'REGISTRY_READ', 'query($k: String!, $d: String!) { device(productKey: $k, deviceKey: $d) { assetId } }', (f) => ({ k: f.productKey, d: f.deviceKey })),
  op('devices', 'REGISTRY_READ', '{ devices { totalCount edges { node { assetId deviceKey } } } }'),
  // Registry: writes
  op('createThingModel', 'REGISTRY_FULL', 'mutation { createThingModel(input: { identifier: "MatrixNew", name: "n" }) { identifier } }', () => ({}), false),
  op('updateThingModel', 'REGISTRY_FULL', 'mutation($m: ID!, $i: ThingModelInput!) { updateThingModel(identifier: $m, input: $i) { identifier } }', (f) => ({ m: f.model, i: { ...meterModel(f.model), name: 'changed' } })),
  op('deleteThingModel', 'REGISTRY_FULL', 'mutation($m: ID!) { deleteThingModel(identifier: $m) }', (f) => ({ m: f.spareModel })),
  // Import creates or replaces within the caller's own organisation: there is nothing of another to target.
  op('importThingModel', 'REGISTRY_FULL', 'mutation($d: JSON!) { importThingModel(document: $d, replace: true) { identifier } }', (f) => ({ d: { ...meterModel(f.model), name: 'imported' } }), false),
  op('createProduct', 'REGISTRY_FULL', 'mutation($m: String!) { createProduct(input: { name: "n", modelIdentifier: $m }) { productKey } }', (f) => ({ m: f.model })),
  op('updateProduct', 'REGISTRY_FULL', 'mutation($k: ID!) { updateProduct(productKey: $k, input: { name: "changed" }) { productKey } }', (f) => ({ k: f.productKey })),
  op('deleteProduct', 'REGISTRY_FULL', 'mutation($k: ID!) { deleteProduct(productKey: $k) }', (f) => ({ k: f.spareProductKey })),
  op('createDevice', 'REGISTRY_FULL', 'mutation($k: String!) { createDevice(input: { productKey: $k, name: "n" }) { assetId } }', (f) => ({ k: f.productKey })),
  op('updateDevice', 'REGISTRY_FULL', 'mutation($a: ID!) { updateDevice(device: { assetId: $a }, input: { name: "changed" }) { assetId } }', (f) => ({ a: f.assetId })),
  op('enableDevice', 'REGISTRY_FULL', 'mutation($a: ID!) { enableDevice(device: { assetId: $a }) { assetId } }', (f) => ({ a: f.assetId })),
  op('disableDevice', 'REGISTRY_FULL', 'mutation($a: ID!) { disableDevice(device: { assetId: $a }) { assetId } }', (f) => ({ a: f.assetId })),
  // Device data through registry types and mutations: the data API's permission, plus the registry's to reach the device
  { ...op('Device.attributes', 'ASSET_READ', 'query($a: ID!) { device(assetId: $a) { attributes } }', (f) => ({ a: f.assetId })), alsoNeeds: ['REGISTRY_READ'] },
  { ...op('devices { attributes }', 'ASSET_READ', '{ devices { edges { node { assetId attributes } } } }'), alsoNeeds: ['REGISTRY_READ'] },
  { ...op('createDevice with attributes', 'ASSET_WRITE', 'mutation($k: String!) { createDevice(input: { productKey: $k, name: "n", attributes: { location: "x" } }) { assetId } }', (f) => ({ k: f.productKey })), alsoNeeds: ['REGISTRY_FULL'] },
  { ...op('updateDevice attributes', 'ASSET_WRITE', 'mutation($a: ID!) { updateDevice(device: { assetId: $a }, input: { attributes: { location: "x" } }) { assetId } }', (f) => ({ a: f.assetId })), alsoNeeds: ['REGISTRY_FULL'] },
  op('deleteDevice', 'REGISTRY_FULL', 'mutation($a: ID!) { deleteDevice(device: { assetId: $a }) }', (f) => ({ a: f.assetId })),
  // Ingest and files
  op('postMeasurePoints', 'ASSET_WRITE', 'mutation($a: ID!) { postMeasurePoints(items: [{ assetId: $a, time: 1700000000001, values: { count: 1 } }]) { accepted } }', (f) => ({ a: f.assetId })),
  op('postAttributes', 'ASSET_WRITE', 'mutation($a: ID!) { postAttributes(items: [{ assetId: $a, values: { location: "x" } }]) { accepted } }', (f) => ({ a: f.assetId })),
  op('postEvents', 'ASSET_WRITE', 'mutation($a: ID!) { postEvents(items: [{ assetId: $a, time: 1700000000001, events: { alarm: { code: 1 } } }]) { accepted } }', (f) => ({ a: f.assetId })),
  op('deviceFiles', 'ASSET_READ', 'query($a: ID!) { deviceFiles(device: { assetId: $a }) { uri } }', (f) => ({ a: f.assetId })),
  op('deleteFile', 'ASSET_WRITE', 'mutation($a: ID!, $u: String!) { deleteFile(device: { assetId: $a }, uri: $u) }', (f) => ({ a: f.assetId, u: f.fileUri })),
  // Firmware packages (OTA)
  op('firmwarePackages', 'REGISTRY_READ', 'query($k: String!) { firmwarePackages(productKey: $k) { uri } }', (f) => ({ k: f.productKey })),
  op('deleteFirmware', 'REGISTRY_FULL', 'mutation($k: String!) { deleteFirmware(productKey: $k, version: "1.0.0") }', (f) => ({ k: f.productKey })),
  // Data policies (a delete follows its set in the same document, so there is something to delete)
  op('modelPolicies', 'REGISTRY_READ', 'query($m: ID!) { modelPolicies(model: $m) { model revision } }', (f) => ({ m: f.model })),
  op('effectivePointPolicy', 'REGISTRY_READ', 'query($m: ID!) { effectivePointPolicy(model: $m, point: "temp") { point storage { source } } }', (f) => ({ m: f.model })),
  op('setProcessingPolicy', 'REGISTRY_FULL', 'mutation($m: ID!) { setProcessingPolicy(model: $m, point: "temp", input: { steps: [{ scale: { multiplier: 2 } }] }) { point } }', (f) => ({ m: f.model })),
  op('deleteProcessingPolicy', 'REGISTRY_FULL', 'mutation($m: ID!) { setProcessingPolicy(model: $m, point: "temp", input: { steps: [] }) { point } deleteProcessingPolicy(model: $m, point: "temp") }', (f) => ({ m: f.model })),
  op('setStoragePolicy', 'REGISTRY_FULL', 'mutation($m: ID!) { setStoragePolicy(model: $m, input: { name: "g", points: ["temp"], forms: [{ form: RAW, retentionDays: 30 }] }) { name } }', (f) => ({ m: f.model })),
  op('deleteStoragePolicy', 'REGISTRY_FULL', 'mutation($m: ID!) { setStoragePolicy(model: $m, input: { name: "g", forms: [] }) { name } deleteStoragePolicy(model: $m, name: "g") }', (f) => ({ m: f.model })),
  op('setComputedPoint', 'REGISTRY_FULL', 'mutation($m: ID!) { setComputedPoint(model: $m, input: { point: "count", expression: "temp * 2" }) { point } }', (f) => ({ m: f.model })),
  op('deleteComputedPoint', 'REGISTRY_FULL', 'mutation($m: ID!) { setComputedPoint(model: $m, input: { point: "count", expression: "temp * 2" }) { point } deleteComputedPoint(model: $m, point: "count") }', (f) => ({ m: f.model })),
  // Service accounts
  // Query API
  op('latestValues', 'ASSET_READ', 'query($a: ID!) { latestValues(devices: { assetIds: [$a] }) { assetId point value } }', (f) => ({ a: f.assetId })),
  op('latestValuesByDevice', 'ASSET_READ', 'query($a: ID!) { latestValuesByDevice(devices: { assetIds: [$a] }) { assetId points values } }', (f) => ({ a: f.assetId })),
  op('latestValues by product', 'ASSET_READ', 'query($k: String!) { latestValues(devices: { productKey: $k }) { assetId point value } }', (f) => ({ k: f.productKey })),
  { ...op('Device.latest', 'ASSET_READ', 'query($a: ID!) { device(assetId: $a) { latest { point value } } }', (f) => ({ a: f.assetId })), alsoNeeds: ['REGISTRY_READ'] },
  op('pointHistory', 'ASSET_READ', 'query($a: ID!) { pointHistory(devices: { assetIds: [$a] }, points: ["snapshot"], from: 0, to: 1800000000000) { edges { node { assetId value } } } }', (f) => ({ a: f.assetId })),
  op('pointHistory columns', 'ASSET_READ', 'query($a: ID!) { pointHistory(devices: { assetIds: [$a] }, points: ["snapshot"], from: 0, to: 1800000000000) { columns { assetIds values } } }', (f) => ({ a: f.assetId })),
  op('pointAggregates', 'ASSET_READ', 'query($a: ID!) { pointAggregates(devices: { assetIds: [$a] }, aggregates: [{ point: "count", function: COUNT }], from: 1699999999000, to: 1700003600000, interval: "1 hour") { assetId } }', (f) => ({ a: f.assetId })),
  op('attributeValues', 'ASSET_READ', 'query($a: ID!) { attributeValues(device: { assetId: $a }) { attribute value } }', (f) => ({ a: f.assetId })),
  op('attributeHistory', 'ASSET_READ', 'query($a: ID!) { attributeHistory(device: { assetId: $a }, attribute: "location") { edges { node { value } } } }', (f) => ({ a: f.assetId })),
  op('eventHistory', 'ASSET_READ', 'query($a: ID!) { eventHistory(devices: { assetIds: [$a] }, from: 0, to: 1800000000000) { edges { node { assetId } } } }', (f) => ({ a: f.assetId })),
  op('files', 'ASSET_READ', 'query($a: ID!) { files(device: { assetId: $a }) { edges { node { uri } } } }', (f) => ({ a: f.assetId })),
  // Subscription jobs (the subscriptions themselves are covered over graphql-ws in test/live)
  op('subscriptionJobs', 'ASSET_READ', '{ subscriptionJobs { id name } }'),
  op('subscriptionJob', 'ASSET_READ', 'query($j: ID!) { subscriptionJob(id: $j) { id groupOffsets { partition offset } } }', (f) => ({ j: f.jobId })),
  op('createSubscriptionJob', 'ORG_ADMIN', 'mutation { createSubscriptionJob(input: { name: "n", kind: EVENTS }) { id } }', () => ({}), false),
  op('updateSubscriptionJob', 'ORG_ADMIN', 'mutation($j: ID!) { updateSubscriptionJob(id: $j, input: { name: "changed", kind: MEASURE_POINTS }) { id } }', (f) => ({ j: f.jobId })),
  op('deleteSubscriptionJob', 'ORG_ADMIN', 'mutation($j: ID!) { deleteSubscriptionJob(id: $j) }', (f) => ({ j: f.jobId })),
  op('commitJobOffsets', 'ASSET_READ', 'mutation($j: ID!) { commitJobOffsets(jobId: $j, offset: "0", partitions: [0]) { partition } }', (f) => ({ j: f.jobId })),
  op('resetJobOffsets', 'ASSET_READ', 'mutation($j: ID!) { resetJobOffsets(jobId: $j) { partition } }', (f) => ({ j: f.jobId })),
  op('resetJobOffsets to earliest', 'ASSET_READ', 'mutation($j: ID!) { resetJobOffsets(jobId: $j, to: { earliest: true }) { partition } }', (f) => ({ j: f.jobId })),
  op('serviceAccounts', 'ORG_ADMIN', '{ serviceAccounts { accessKey } }'),
  op('createServiceAccount', 'ORG_ADMIN', 'mutation { createServiceAccount(name: "n", grants: [{ permission: ASSET_READ }]) { accessKey } }', () => ({}), false),
  op('updateServiceAccountGrants', 'ORG_ADMIN', 'mutation($s: ID!) { updateServiceAccountGrants(accessKey: $s, grants: [{ permission: ASSET_WRITE }]) { accessKey } }', (f) => ({ s: f.saAccessKey })),
  op('disableServiceAccount', 'ORG_ADMIN', 'mutation($s: ID!) { disableServiceAccount(accessKey: $s) { accessKey } }', (f) => ({ s: f.saAccessKey })),
  op('enableServiceAccount', 'ORG_ADMIN', 'mutation($s: ID!) { enableServiceAccount(accessKey: $s) { accessKey } }', (f) => ({ s: f.saAccessKey })),
  op('rotateServiceAccountSecret', 'ORG_ADMIN', 'mutation($s: ID!) { rotateServiceAccountSecret(accessKey: $s) { accessKey } }', (f) => ({ s: f.saAccessKey })),
  op('deleteServiceAccount', 'ORG_ADMIN', 'mutation($s: ID!) { deleteServiceAccount(accessKey: $s) }', (f) => ({ s: f.saAccessKey })),
];
