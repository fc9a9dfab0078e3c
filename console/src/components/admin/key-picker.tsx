import { useEffect, useState } from 'react';
import { gql } from '../../api/client';
import { can } from '../../api/permissions';
import { useSession } from '../../api/session-store';
import { useApi } from '../../api/use-api';
import { ErrorMessage } from '../error-message';
import { SearchBox } from '../search-box';

/** How many matches the picker lists at once; the search narrows the rest. */
const PICK_PAGE = 50;

interface Option {
  readonly key: string;
  readonly label: string;
}

type DeviceNode = { assetId: string; name: string; productKey: string; deviceKey: string };

async function loadOptions(kind: 'products' | 'devices', search: string, signal: AbortSignal): Promise<Option[]> {
  const filter = search ? { search } : null;
  if (kind === 'products') {
    const r = await gql<{ products: { edges: { node: { productKey: string; name: string } }[] } }>(`query ($f: ProductFilter, $n: Int) { products(filter: $f, first: $n) { edges { node { productKey name } } } }`, { f: filter, n: PICK_PAGE }, { signal });
    return r.products.edges.map((e) => ({ key: e.node.productKey, label: e.node.name }));
  }
  const r = await gql<{ devices: { edges: { node: DeviceNode }[] } }>(`query ($f: DeviceFilter, $n: Int) { devices(filter: $f, first: $n) { edges { node { assetId name productKey deviceKey } } } }`, { f: filter, n: PICK_PAGE }, { signal });
  return r.devices.edges.map((e) => ({ key: e.node.assetId, label: `${e.node.name} (${e.node.productKey} / ${e.node.deviceKey})` }));
}

/** Names of devices already chosen (they may not be among the current matches). */
async function loadDeviceLabels(assetIds: readonly string[], signal: AbortSignal): Promise<Option[]> {
  if (!assetIds.length) return [];
  const r = await gql<{ devices: { edges: { node: DeviceNode }[] } }>(`query ($ids: [ID!], $n: Int) { devices(filter: { assetIds: $ids }, first: $n) { edges { node { assetId name productKey deviceKey } } } }`, { ids: assetIds, n: 200 }, { signal });
  return r.devices.edges.map((e) => ({ key: e.node.assetId, label: `${e.node.name} (${e.node.productKey} / ${e.node.deviceKey})` }));
}

/**
 * Chooses some of the organisation's products or devices for a grant: a search and a list of
 * check boxes, the chosen ones first. Without REGISTRY_READ the account cannot list them, so the
 * keys are typed instead.
 */
export function KeyPicker({ kind, selected, onChange, testId }: { readonly kind: 'products' | 'devices'; readonly selected: readonly string[]; readonly onChange: (keys: string[]) => void; readonly testId: string }) {
  const grants = useSession().me.serviceAccount.grants;
  const listable = can(grants, 'REGISTRY_READ');
  const [search, setSearch] = useState('');
  const [labels, setLabels] = useState<ReadonlyMap<string, string>>(new Map());
  const options = useApi((signal) => (listable ? loadOptions(kind, search, signal) : Promise.resolve([])), [kind, search, listable]);
  const chosenLabels = useApi((signal) => (listable && kind === 'devices' ? loadDeviceLabels(selected, signal) : Promise.resolve([])), [kind, listable]);
  useEffect(() => {
    const found = [...(options.data ?? []), ...(chosenLabels.data ?? [])];
    if (found.length) setLabels((m) => new Map([...m, ...found.map((o) => [o.key, o.label] as const)]));
  }, [options.data, chosenLabels.data]);
  const noun = kind === 'products' ? 'product' : 'device';
  if (!listable)
    return (
      <label className="wide" data-testid={testId}>
        {kind === 'products' ? 'Product keys' : 'Device assetIds'}, separated by commas
        <input value={selected.join(', ')} onChange={(e) => onChange(e.target.value.split(/[\s,]+/).filter(Boolean))} />
        <span className="hint">Your service account cannot list {kind} (needs REGISTRY_READ): type the keys.</span>
      </label>
    );
  const toggle = (key: string, on: boolean) => onChange(on ? [...selected, key] : selected.filter((k) => k !== key));
  const rows: Option[] = [...selected.map((k) => ({ key: k, label: labels.get(k) ?? k })), ...(options.data ?? []).filter((o) => !selected.includes(o.key))];
  return (
    <div className="key-picker" data-testid={testId}>
      <SearchBox label={`Search ${kind}`} placeholder={`Search ${kind}`} onSearch={setSearch} />
      <ErrorMessage error={options.error ?? chosenLabels.error} />
      <div className="picker">
        {rows.map((o) => (
          <label key={o.key}>
            <input type="checkbox" checked={selected.includes(o.key)} onChange={(e) => toggle(o.key, e.target.checked)} />
            {o.label} <span className="muted mono">{o.key}</span>
          </label>
        ))}
        {!rows.length && !options.loading ? <span className="muted">No {noun} matches.</span> : null}
      </div>
      <span className="hint">
        {selected.length} {noun}
        {selected.length === 1 ? '' : 's'} chosen{(options.data?.length ?? 0) >= PICK_PAGE ? `; the first ${PICK_PAGE} matches are listed, search for others` : ''}.
      </span>
    </div>
  );
}
