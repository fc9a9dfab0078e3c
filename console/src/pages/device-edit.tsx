import { useEffect, useState } from 'react';
import { useLocation, useParams } from 'wouter';
import { gql, requestGraphQL } from '../api/client';
import { ApiError } from '../api/errors';
import { can } from '../api/permissions';
import { useSession } from '../api/session-store';
import { useAction, useApi } from '../api/use-api';
import { ATTRIBUTE_DEF_FIELDS, AttributeInputs, parseAttributeValue, toText, type AttributeDef } from '../components/attribute-inputs';
import { ConfirmButton } from '../components/confirm-button';
import { ErrorMessage, Loading, NotAllowed } from '../components/error-message';

interface DeviceForm {
  productKey: string;
  deviceKey: string;
  name: string;
  timezone: string;
  description: string;
  tags: string;
}

interface LoadedDevice {
  readonly assetId: string;
  readonly productKey: string;
  readonly deviceKey: string;
  readonly name: string;
  readonly timezone: string;
  readonly description: string;
  readonly tags: Record<string, string>;
  readonly attributes: Record<string, unknown> | null;
  readonly enabled: boolean;
}

const DEVICE = `query DeviceForm($assetId: ID!) { device(assetId: $assetId) { assetId productKey deviceKey name timezone description tags attributes enabled } }`;
const MODEL_OF_PRODUCT = `query ($pk: ID!) { product(productKey: $pk) { model { identifier attributes { ${ATTRIBUTE_DEF_FIELDS} } } } }`;

const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** Tags typed as `key=value` lines. */
function parseTags(text: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const i = line.indexOf('=');
    if (i <= 0) throw new Error(`tag "${line}" is not key=value`);
    tags[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return tags;
}

/** Creates a device (/devices/new) or edits one (/devices/:assetId/edit): registry fields and attribute values. */
export function DeviceEditPage() {
  const params = useParams<{ assetId?: string }>();
  const editing = params.assetId !== undefined;
  const [, navigate] = useLocation();
  const grants = useSession().me.serviceAccount.grants;
  const [form, setForm] = useState<DeviceForm>({ productKey: '', deviceKey: '', name: '', timezone: browserZone, description: '', tags: '' });
  const [attrs, setAttrs] = useState<Record<string, string>>({});
  const device = useApi(async (signal) => {
    if (!params.assetId) return null;
    const r = await requestGraphQL<{ device: LoadedDevice | null }>(DEVICE, { assetId: params.assetId }, { signal });
    return r.data?.device ?? null;
  }, [params.assetId]);
  const products = useApi((signal) => gql<{ products: { edges: { node: { productKey: string; name: string } }[] } }>('{ products(first: 200) { edges { node { productKey name } } } }', {}, { signal }), []);
  const model = useApi(
    (signal) => (form.productKey ? gql<{ product: { model: { attributes: AttributeDef[] } } | null }>(MODEL_OF_PRODUCT, { pk: form.productKey }, { signal }) : Promise.resolve(null)),
    [form.productKey],
  );
  useEffect(() => {
    const d = device.data;
    if (d) {
      setForm({ productKey: d.productKey, deviceKey: d.deviceKey, name: d.name, timezone: d.timezone, description: d.description, tags: Object.entries(d.tags ?? {}).map(([k, v]) => `${k}=${v}`).join('\n') });
      setAttrs(Object.fromEntries(Object.entries(d.attributes ?? {}).map(([k, v]) => [k, toText(v)])));
    }
  }, [device.data]);
  useEffect(() => {
    if (!editing && !form.productKey && products.data?.products.edges[0]) setForm((f) => ({ ...f, productKey: products.data?.products.edges[0]?.node.productKey ?? '' }));
  }, [editing, products.data, form.productKey]);

  const target = { productKey: form.productKey, ...(params.assetId ? { assetId: params.assetId } : {}) };
  const registryAllowed = can(grants, 'REGISTRY_FULL', target);
  // createDevice with attributes needs ASSET_WRITE on the whole product (the device does not exist yet).
  const attributesAllowed = editing ? can(grants, 'ASSET_WRITE', target) : can(grants, 'ASSET_WRITE', { productKey: form.productKey });
  const attributesReadable = !editing || device.data?.attributes !== null;
  const defs = model.data?.product?.model.attributes ?? [];

  const save = useAction(async () => {
    let tags: Record<string, string>;
    const attributes: Record<string, unknown> = {};
    try {
      tags = parseTags(form.tags);
      if (attributesAllowed && attributesReadable) {
        for (const d of defs) {
          const v = parseAttributeValue(d, attrs[d.identifier] ?? '');
          if (v !== undefined) attributes[d.identifier] = v;
        }
      }
    } catch (e) {
      throw new ApiError('BAD_USER_INPUT', (e as Error).message);
    }
    const common = { name: form.name, timezone: form.timezone, description: form.description, tags, ...(Object.keys(attributes).length ? { attributes } : {}) };
    if (editing) {
      await gql(`mutation ($d: DeviceRefInput!, $input: UpdateDeviceInput!) { updateDevice(device: $d, input: $input) { assetId } }`, { d: { assetId: params.assetId }, input: common });
      navigate(`/devices/${encodeURIComponent(params.assetId ?? '')}`);
    } else {
      const r = await gql<{ createDevice: { assetId: string } }>(`mutation ($input: CreateDeviceInput!) { createDevice(input: $input) { assetId } }`, {
        input: { ...common, productKey: form.productKey, ...(form.deviceKey ? { deviceKey: form.deviceKey } : {}) },
      });
      navigate(`/devices/${encodeURIComponent(r.createDevice.assetId)}`);
    }
  });
  const toggle = useAction(async () => {
    const op = device.data?.enabled ? 'disableDevice' : 'enableDevice';
    await gql(`mutation ($d: DeviceRefInput!) { ${op}(device: $d) { assetId } }`, { d: { assetId: params.assetId } });
    device.reload();
  });
  const remove = useAction(async () => {
    await gql(`mutation ($d: DeviceRefInput!) { deleteDevice(device: $d) }`, { d: { assetId: params.assetId } });
    navigate('/devices');
  });
  const set = <K extends keyof DeviceForm>(k: K, v: DeviceForm[K]) => setForm((f) => ({ ...f, [k]: v }));

  if (editing && device.loading && !device.data) return <Loading what="the device" />;
  if (editing && !device.data) return <>{device.error ? <ErrorMessage error={device.error} /> : <NotAllowed>This device does not exist, or this service account cannot see it.</NotAllowed>}</>;
  return (
    <section>
      <h1>{editing ? `Edit ${device.data?.name ?? ''}` : 'New device'}</h1>
      {!registryAllowed ? <NotAllowed>This service account may only look: {editing ? 'changing this device' : 'creating devices of this product'} needs REGISTRY_FULL.</NotAllowed> : null}
      <ErrorMessage error={products.error ?? model.error} />
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save.run();
        }}
      >
        <fieldset className="form plain" disabled={!registryAllowed || save.running}>
          <label>
            Product
            <select value={form.productKey} onChange={(e) => set('productKey', e.target.value)} disabled={editing} required>
              {products.data?.products.edges.map(({ node: p }) => (
                <option key={p.productKey} value={p.productKey}>
                  {p.name} ({p.productKey})
                </option>
              ))}
            </select>
          </label>
          <label>
            Device key
            <input value={form.deviceKey} onChange={(e) => set('deviceKey', e.target.value)} disabled={editing} placeholder="generated when empty" pattern="[A-Za-z0-9_.\-]{4,64}" title="4 to 64 letters, digits, dots, dashes or underscores" />
          </label>
          <label>
            Name
            <input value={form.name} onChange={(e) => set('name', e.target.value)} required />
          </label>
          <label>
            Time zone
            <input value={form.timezone} onChange={(e) => set('timezone', e.target.value)} placeholder="Europe/Berlin or +08:00" />
          </label>
          <label className="wide">
            Description
            <input value={form.description} onChange={(e) => set('description', e.target.value)} />
          </label>
          <label className="wide">
            Tags (one key=value a line)
            <textarea rows={3} value={form.tags} onChange={(e) => set('tags', e.target.value)} />
          </label>
        </fieldset>
        <h2 className="section">Attributes</h2>
        {!attributesReadable ? (
          <NotAllowed>This service account cannot read this device's attribute values (it needs ASSET_READ on it).</NotAllowed>
        ) : !attributesAllowed ? (
          <NotAllowed>Setting attribute values needs ASSET_WRITE {editing ? 'on this device' : 'on the whole product'}; the device is saved without them.</NotAllowed>
        ) : defs.length === 0 ? (
          <p className="muted">The product's thing model has no attributes.</p>
        ) : (
          <fieldset className="form plain" disabled={!registryAllowed || save.running}>
            <AttributeInputs defs={defs} values={attrs} onChange={(id, text) => setAttrs((a) => ({ ...a, [id]: text }))} />
          </fieldset>
        )}
        <ErrorMessage error={save.error ?? toggle.error ?? remove.error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={!registryAllowed || save.running || !form.name || !form.productKey}>
            {editing ? 'Save' : 'Create device'}
          </button>
          <button type="button" onClick={() => navigate(editing ? `/devices/${encodeURIComponent(params.assetId ?? '')}` : '/devices')}>
            Cancel
          </button>
          <span className="spacer" />
          {editing && registryAllowed ? (
            <>
              <button type="button" onClick={() => void toggle.run()} disabled={toggle.running}>
                {device.data?.enabled ? 'Disable device' : 'Enable device'}
              </button>
              <ConfirmButton label="Delete device" confirmLabel="Delete it with all its data?" onConfirm={() => void remove.run()} />
            </>
          ) : null}
        </div>
      </form>
    </section>
  );
}
