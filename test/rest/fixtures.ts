import { expect } from 'vitest';
import type { Tenant, TestApp } from '../helpers/test-app';
import { buildMultipart, chunkedBody, md5Hex, okhttpBoundary, rawRequest, sdkFilePart, sdkMessagePart, type RawResponse, type WirePart } from './enos-wire';

/** The thing model the SDK samples and the captures use (identifiers as in the captures). */
export const SAMPLE_MODEL = {
  identifier: 'SdkSampleModel',
  name: 'SDK sample model',
  measurePoints: [
    { identifier: 'IntMeasurePoint1', type: { dataType: 'INT' } },
    { identifier: 'DoubleMeasurePoint1', type: { dataType: 'DOUBLE' } },
    { identifier: 'StringMeasurePoint1', type: { dataType: 'STRING' } },
    { identifier: 'FileMeasurePoint1', type: { dataType: 'FILE' } },
    { identifier: 'QualityPoint1', type: { dataType: 'DOUBLE' }, hasQuality: true },
    {
      identifier: 'StructMeasurePoint1',
      type: { dataType: 'STRUCT', members: [{ identifier: 'doc', type: { dataType: 'FILE' } }, { identifier: 'n', type: { dataType: 'INT' } }] },
    },
  ],
  attributes: [
    { identifier: 'IntAttribute1', type: { dataType: 'INT' } },
    { identifier: 'FileAttribute1', type: { dataType: 'FILE' } },
  ],
  events: [
    { identifier: 'IntEvent1', level: 'INFO', outputData: [{ identifier: 'struct2', type: { dataType: 'INT' } }] },
    { identifier: 'FileEvent1', level: 'WARN', outputData: [{ identifier: 'report', type: { dataType: 'FILE' } }, { identifier: 'code', type: { dataType: 'INT' } }] },
  ],
};

/** A device created for tests. */
export interface SampleDevice {
  readonly assetId: string;
  readonly productKey: string;
  readonly deviceKey: string;
}

/** Creates the sample model, a product `productKey` and devices `deviceKeys` in the tenant's organisation. */
export async function createSampleDevices(t: TestApp, admin: Tenant, productKey: string, deviceKeys: readonly string[]): Promise<SampleDevice[]> {
  const m = await t.gql(admin.token, 'query($id: ID!) { thingModel(identifier: $id) { identifier } }', { id: SAMPLE_MODEL.identifier });
  if (!m.data?.['thingModel']) {
    const r = await t.gql(admin.token, 'mutation($input: ThingModelInput!) { createThingModel(input: $input) { identifier } }', { input: SAMPLE_MODEL });
    expect(r.errors).toBeUndefined();
  }
  const p = await t.gql(admin.token, 'mutation($input: CreateProductInput!) { createProduct(input: $input) { productKey } }', { input: { productKey, name: productKey, modelIdentifier: SAMPLE_MODEL.identifier } });
  expect(p.errors).toBeUndefined();
  const out: SampleDevice[] = [];
  for (const deviceKey of deviceKeys) {
    const d = await t.gql(admin.token, 'mutation($input: CreateDeviceInput!) { createDevice(input: $input) { assetId productKey deviceKey } }', { input: { productKey, deviceKey, name: deviceKey } });
    expect(d.errors).toBeUndefined();
    out.push(d.data!['createDevice'] as SampleDevice);
  }
  return out;
}

/** A file to attach: the part's (generated) name and content, plus what the `files` map says. */
export interface AttachedFile {
  readonly name: string;
  readonly content: Buffer;
  readonly featureId?: string;
  readonly originalFilename?: string;
}

/** Options of {@link sdkPost}. */
export interface SdkPostOptions {
  readonly chunked?: boolean;
  readonly boundary?: string;
  /** Extra parts appended after the SDK's (e.g. a stray file). */
  readonly extraParts?: readonly WirePart[];
  readonly token?: string;
  readonly query?: string;
}

/** The enos-message the SDK builds: files map with string values, id as a string, version 1.1. */
export function sdkMessage(method: string, id: string, params: readonly Record<string, unknown>[], files: readonly AttachedFile[], realtime = true): string {
  const filesMap: Record<string, Record<string, string>> = {};
  for (const f of files) {
    const dot = f.name.lastIndexOf('.');
    filesMap[f.name] = {
      fileName: f.name,
      fileExt: dot > 0 ? f.name.slice(dot) : '',
      featureId: f.featureId ?? '',
      originalFilename: f.originalFilename ?? f.name,
      fileLength: String(f.content.length),
      md5: md5Hex(f.content),
    };
  }
  return JSON.stringify({ method, files: filesMap, id, params, version: '1.1', isRealtimeIntegration: realtime });
}

const METHOD_OF: Record<string, string> = { postMeasurepoint: 'integration.measurepoint.post', postAttribute: 'integration.attribute.post', postEvent: 'integration.event.post' };

/**
 * Posts like the SDK (okhttp 3.13): header order and casing of the captures, per-part
 * Content-Length, Content-Length framing or chunked framing.
 */
export async function sdkPost(t: TestApp, tenant: Tenant, action: string, params: readonly Record<string, unknown>[], files: readonly AttachedFile[] = [], opts: SdkPostOptions & { realtime?: boolean } = {}): Promise<RawResponse> {
  const boundary = opts.boundary ?? okhttpBoundary();
  const message = sdkMessage(METHOD_OF[action] ?? action, '1', params, files, opts.realtime ?? true);
  const body = buildMultipart(boundary, [sdkMessagePart(message), ...files.map((f) => sdkFilePart(f.name, f.content)), ...(opts.extraParts ?? [])]);
  return postMultipart(t, opts.token ?? tenant.token, `/connect-service/v2.1/integration?action=${action}&orgId=${opts.query ?? tenant.orgId}`, boundary, body, opts.chunked ?? false);
}

/** Posts a multipart body as okhttp does, with Content-Length or chunked framing. */
export function postMultipart(t: TestApp, token: string | undefined, target: string, boundary: string, body: Buffer, chunked = false, extraHeaders: readonly (readonly [string, string])[] = []): Promise<RawResponse> {
  return rawRequest(t.url, {
    method: 'POST',
    target,
    headers: [
      ...(token ? [['apim-accesstoken', token] as const] : []),
      ['Content-Type', `multipart/form-data; boundary=${boundary}`],
      chunked ? ['Transfer-Encoding', 'chunked'] : ['Content-Length', String(body.length)],
      ['Host', new URL(t.url).host],
      ['Connection', 'Keep-Alive'],
      ['Accept-Encoding', 'gzip'],
      ['User-Agent', 'okhttp/3.13.1'],
      ...extraHeaders,
    ],
    body: chunked ? chunkedBody(body) : body,
  });
}
