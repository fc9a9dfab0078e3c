import WebSocket from 'ws';
import type { Channel, IngestBatch, PointRecord } from '../../src/ingest/types';
import type { LiveBatch } from '../../src/live/project';
import type { DataType } from '../../src/model/type-spec';
import { createDevice, type Device } from '../../src/registry/devices';
import { createModel } from '../../src/registry/models';
import { createProduct } from '../../src/registry/products';
import type { AppDeps } from '../../src/server/deps';
import type { Db } from '../../src/storage/db';

/** A model with points temp (DOUBLE) and state (STRING), attribute label, event alarm; products and devices. */
export interface Fleet {
  readonly orgId: string;
  readonly modelIdentifier: string;
  readonly productKeys: readonly string[];
  readonly devices: readonly Device[];
  readonly featureIds: ReadonlyMap<string, number>;
}

/** Creates a fleet in `orgId`: `products` products of one model with `perProduct` devices each. */
export async function createFleet(db: Db, orgId: string, prefix: string, products = 2, perProduct = 2): Promise<Fleet> {
  const model = await createModel(db, orgId, {
    identifier: `${prefix}_model`,
    name: 'Meter',
    measurePoints: [
      { identifier: 'temp', type: { dataType: 'DOUBLE' } },
      { identifier: 'state', type: { dataType: 'STRING' } },
    ],
    attributes: [{ identifier: 'label', type: { dataType: 'STRING' } }],
    events: [{ identifier: 'alarm', level: 'WARN', outputData: [{ identifier: 'code', type: { dataType: 'INT' } }] }],
  });
  const productKeys: string[] = [];
  const devices: Device[] = [];
  for (let p = 0; p < products; p++) {
    const product = await createProduct(db, orgId, { productKey: `${prefix}P${p}`, name: `p${p}`, modelIdentifier: model.identifier });
    productKeys.push(product.productKey);
    for (let d = 0; d < perProduct; d++) devices.push(await createDevice(db, orgId, { productKey: product.productKey, deviceKey: `${prefix}d${p}x${d}`, name: `d${d}` }));
  }
  return { orgId, modelIdentifier: model.identifier, productKeys, devices, featureIds: new Map(model.features.map((f) => [f.identifier, f.id])) };
}

/** A typed point record for a device of the fleet. */
export function point(fleet: Fleet, device: Device, identifier: 'temp' | 'state', time: number, value: number | string): PointRecord {
  return {
    deviceId: device.id,
    assetId: device.assetId,
    productKey: device.productKey,
    modelId: device.modelId,
    pointId: fleet.featureIds.get(identifier)!,
    identifier,
    dataType: (identifier === 'temp' ? 'DOUBLE' : 'STRING') as DataType,
    time,
    value,
    quality: null,
  };
}

/** An IngestBatch, as ingest builds it after validation. */
export function batchOf(fleet: Fleet, parts: Partial<Pick<IngestBatch, 'points' | 'attributes' | 'events' | 'files'>>, channel: Channel = 'REALTIME'): IngestBatch {
  return { orgId: fleet.orgId, channel, points: parts.points ?? [], attributes: parts.attributes ?? [], events: parts.events ?? [], files: parts.files ?? [] };
}

/** Runs the ingest pipeline's writers in a transaction, then its committed hooks (what ingest does after storing rows). */
export async function ingestBatch(deps: AppDeps, batch: IngestBatch): Promise<void> {
  await deps.db.transaction(async (tx) => {
    for (const w of deps.ingestPipeline.writers) await w(tx, [batch]);
  });
  for (const c of deps.ingestPipeline.committed) c(batch);
}

/** One operation's results on a {@link RawClient}. */
export interface RawSub {
  readonly batches: LiveBatch[];
  readonly errors: { message: string; extensions?: { code?: string } }[];
  completed: boolean;
}

/** A minimal graphql-transport-ws client over `ws`, with control over reading (for slow-consumer tests). */
export interface RawClient {
  readonly ws: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;
  closeCode: number | null;
  subscribe(id: string, query: string, variables?: Record<string, unknown>): RawSub;
  complete(id: string): void;
  close(): void;
}

/** The selection every test asks for. */
export const BATCH_FIELDS = 'offset channel partitions points { assetId productKey deviceKey modelId identifier time value quality } attributes { assetId identifier value } events { assetId identifier level params } files { assetId uri op }';

/** A subscription document for `field` taking $filter and $fromOffset. */
export function liveQuery(field: string): string {
  return `subscription ($filter: LiveFilter, $fromOffset: String) { ${field}(filter: $filter, fromOffset: $fromOffset) { ${BATCH_FIELDS} } }`;
}

/** The consumeSubscriptionJob document. */
export const CONSUME = `subscription ($jobId: ID!, $group: String, $autoCommit: Boolean) { consumeSubscriptionJob(jobId: $jobId, group: $group, autoCommit: $autoCommit) { ${BATCH_FIELDS} } }`;

/** Connects and completes connection_init with `token`; rejects when refused. */
export async function connectRaw(baseUrl: string, token: string): Promise<RawClient> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const subs = new Map<string, RawSub>();
  let closeCode: number | null = null;
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => {
      closeCode = code;
      resolve({ code, reason: reason.toString() });
    }),
  );
  const acked = new Promise<void>((resolve, reject) => {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { type: string; id?: string; payload?: { data?: Record<string, LiveBatch>; errors?: RawSub['errors'] } | RawSub['errors'] };
      if (msg.type === 'connection_ack') return resolve();
      if (msg.type === 'ping') return ws.send(JSON.stringify({ type: 'pong' }));
      const sub = msg.id ? subs.get(msg.id) : undefined;
      if (!sub) return;
      if (msg.type === 'next') {
        const p = msg.payload as { data?: Record<string, LiveBatch>; errors?: RawSub['errors'] };
        if (p.errors) sub.errors.push(...p.errors);
        for (const v of Object.values(p.data ?? {})) if (v) sub.batches.push(v);
      } else if (msg.type === 'error') sub.errors.push(...(msg.payload as RawSub['errors']));
      else if (msg.type === 'complete') sub.completed = true;
    });
    ws.once('close', (code) => reject(new Error(`closed with ${code}`)));
    ws.once('error', reject);
  });
  ws.once('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { accessToken: token } })));
  await acked;
  const client: RawClient = {
    ws,
    closed,
    get closeCode() {
      return closeCode;
    },
    subscribe(id, query, variables) {
      const sub: RawSub = { batches: [], errors: [], completed: false };
      subs.set(id, sub);
      ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables: variables ?? {} } }));
      return sub;
    },
    complete(id) {
      ws.send(JSON.stringify({ id, type: 'complete' }));
    },
    close() {
      ws.close();
    },
  };
  return client;
}

/** Polls `cond` every 20 ms until it holds or `timeoutMs` passes (then throws with `what`). */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until the hub has attached `n` subscribers (so that a live subscription is in place). */
export async function waitForSubscribers(deps: AppDeps, n: number, live: { hub: { stats(): { subscribers: number } } }): Promise<void> {
  await waitFor(() => live.hub.stats().subscribers >= n, `${n} live subscribers`);
  void deps;
}

/** All point values of a list of batches, as "assetId:identifier=value". */
export function pointKeys(batches: readonly LiveBatch[]): string[] {
  return batches.flatMap((b) => b.points.map((p) => `${p.assetId}:${p.identifier}=${String(p.value)}`));
}
