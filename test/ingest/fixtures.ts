import type { TestApp, Tenant } from '../helpers/test-app';
import { setupModelDevices } from '../fixtures/devices';

/** A model with every data type, as measurement points, plus attributes and an event. */
export const ALL_TYPES_MODEL = {
  identifier: 'AllTypes',
  name: 'All types',
  measurePoints: [
    { identifier: 'i', type: { dataType: 'INT' } },
    { identifier: 'ib', type: { dataType: 'INT', min: 0, max: 100 } },
    { identifier: 'f', type: { dataType: 'FLOAT' } },
    { identifier: 'd', type: { dataType: 'DOUBLE' } },
    { identifier: 'dq', type: { dataType: 'DOUBLE' }, hasQuality: true },
    { identifier: 'b', type: { dataType: 'BOOL' } },
    { identifier: 'ei', type: { dataType: 'ENUM', enumValues: [{ key: '0' }, { key: '1' }, { key: '2' }] } },
    { identifier: 'es', type: { dataType: 'ENUM', enumType: 'STRING', enumValues: [{ key: 'on' }, { key: 'off' }] } },
    { identifier: 's', type: { dataType: 'STRING', maxLength: 5 } },
    { identifier: 'dt', type: { dataType: 'DATE' } },
    { identifier: 'ts', type: { dataType: 'TIMESTAMP' } },
    {
      identifier: 'st',
      type: {
        dataType: 'STRUCT',
        members: [
          { identifier: 'a', type: { dataType: 'INT' }, required: true },
          { identifier: 'f', type: { dataType: 'FILE' } },
          { identifier: 'inner', type: { dataType: 'STRUCT', members: [{ identifier: 'x', type: { dataType: 'STRING', maxLength: 3 } }] } },
        ],
      },
    },
    { identifier: 'arr', type: { dataType: 'ARRAY', item: { dataType: 'INT' }, maxItems: 3 } },
    { identifier: 'arrs', type: { dataType: 'ARRAY', item: { dataType: 'STRUCT', members: [{ identifier: 'v', type: { dataType: 'DOUBLE' } }] } } },
    { identifier: 'file', type: { dataType: 'FILE' } },
  ],
  attributes: [
    { identifier: 'label', type: { dataType: 'STRING' } },
    { identifier: 'level', type: { dataType: 'INT' } },
    { identifier: 'doc', type: { dataType: 'FILE' } },
  ],
  events: [
    {
      identifier: 'alarm',
      level: 'WARN',
      outputData: [
        { identifier: 'code', type: { dataType: 'INT' }, required: true },
        { identifier: 'msg', type: { dataType: 'STRING' } },
        { identifier: 'attach', type: { dataType: 'FILE' } },
      ],
    },
  ],
};

/** A product of the model and `n` devices (deviceKey dev0..); returns their assetIds. */
export async function setupDevices(t: TestApp, tenant: Tenant, productKey: string, n: number): Promise<string[]> {
  return setupModelDevices(t, tenant, ALL_TYPES_MODEL, productKey, n);
}

/** The mutation that posts points. */
export const POST_POINTS = `mutation($items: [PointsItemInput!]!, $channel: Channel, $mode: IngestMode, $files: [FileInput!]) {
  postMeasurePoints(items: $items, channel: $channel, mode: $mode, files: $files) { accepted rejected errors { index identifier code reason } files { name uri sizeBytes md5 } }
}`;

/** The mutation that posts attributes. */
export const POST_ATTRIBUTES = `mutation($items: [AttributesItemInput!]!, $mode: IngestMode, $files: [FileInput!]) {
  postAttributes(items: $items, mode: $mode, files: $files) { accepted rejected errors { index identifier code reason } files { name uri sizeBytes md5 } }
}`;

/** The mutation that posts events. */
export const POST_EVENTS = `mutation($items: [EventsItemInput!]!, $channel: Channel, $mode: IngestMode, $files: [FileInput!]) {
  postEvents(items: $items, channel: $channel, mode: $mode, files: $files) { accepted rejected errors { index identifier code reason } files { name uri sizeBytes md5 } }
}`;

/** A file part of a multipart request. */
export interface Part {
  readonly name: string;
  readonly content: Buffer | string;
  readonly filename?: string;
  readonly md5?: string;
}

/**
 * Posts a GraphQL multipart request (graphql-multipart-request-spec) with the files as
 * `variables.files[i].file`, and the CSRF preflight header unless `preflight` is false.
 */
export async function postMultipart(t: TestApp, token: string, query: string, variables: Record<string, unknown>, parts: readonly Part[], opts: { preflight?: boolean } = {}) {
  const form = new FormData();
  const files = parts.map((p) => ({ name: p.name, file: null, ...(p.md5 ? { md5: p.md5 } : {}) }));
  form.append('operations', JSON.stringify({ query, variables: { ...variables, files } }));
  form.append('map', JSON.stringify(Object.fromEntries(parts.map((_, i) => [String(i), [`variables.files.${i}.file`]]))));
  parts.forEach((p, i) => form.append(String(i), new Blob([p.content]), p.filename ?? p.name));
  const res = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, ...(opts.preflight === false ? {} : { 'apollo-require-preflight': 'true' }) },
    body: form,
  });
  const body = (await res.json()) as { data?: Record<string, any>; errors?: { message: string; extensions?: { code?: string; details?: any } }[] };
  return { status: res.status, data: body.data, errors: body.errors };
}
