import { useState } from 'react';
import { Link, useParams } from 'wouter';
import { gql } from '../api/client';
import { can } from '../api/permissions';
import { useSession } from '../api/session-store';
import { useApi } from '../api/use-api';
import { ErrorMessage, Loading, NotAllowed } from '../components/error-message';
import { formatTime } from '../components/format';
import { Pager, usePaging, type PageInfo } from '../components/pager';
import { SearchBox } from '../components/search-box';

const PAGE_SIZE = 20;

/** A device as the lists show it. */
export interface DeviceRow {
  readonly assetId: string;
  readonly productKey: string;
  readonly deviceKey: string;
  readonly name: string;
  readonly status: string;
  readonly measurepointLastUpdate: string | null;
}

const DEVICES = `query Devices($filter: DeviceFilter, $first: Int, $after: String) {
  devices(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { assetId productKey deviceKey name status measurepointLastUpdate } }
  }
}`;

const STATUSES = ['INACTIVE', 'ONLINE', 'OFFLINE', 'DISABLED'] as const;

/** Devices: search, filter by product and status, page; /products/:productKey/devices starts filtered. */
export function DevicesPage() {
  const params = useParams<{ productKey?: string }>();
  const grants = useSession().me.serviceAccount.grants;
  const [search, setSearch] = useState('');
  const [productKey, setProductKey] = useState(params.productKey ?? '');
  const [status, setStatus] = useState('');
  const paging = usePaging(PAGE_SIZE);
  const allowed = can(grants, 'REGISTRY_READ');
  const products = useApi((signal) => (allowed ? gql<{ products: { edges: { node: { productKey: string; name: string } }[] } }>('{ products(first: 200) { edges { node { productKey name } } } }', {}, { signal }) : Promise.resolve(null)), [allowed]);
  const list = useApi(
    (signal) => {
      if (!allowed) return Promise.resolve(null);
      const filter = { ...(search ? { search } : {}), ...(productKey ? { productKey } : {}), ...(status ? { status } : {}) };
      return gql<{ devices: { totalCount: number; pageInfo: PageInfo; edges: { node: DeviceRow }[] } }>(DEVICES, { filter, first: PAGE_SIZE, after: paging.after }, { signal });
    },
    [search, productKey, status, paging.after, allowed],
  );
  if (!allowed) return <NotAllowed>This service account cannot see devices: it needs REGISTRY_READ.</NotAllowed>;
  const rows = list.data?.devices.edges.map((e) => e.node) ?? [];
  const reset = paging.reset;
  return (
    <section>
      <h1>Devices</h1>
      <div className="toolbar">
        <SearchBox
          label="Search devices"
          placeholder="Search by key, name or assetId"
          onSearch={(t) => {
            setSearch(t);
            reset();
          }}
        />
        <select
          aria-label="Product"
          value={productKey}
          onChange={(e) => {
            setProductKey(e.target.value);
            reset();
          }}
        >
          <option value="">All products</option>
          {products.data?.products.edges.map(({ node: p }) => (
            <option key={p.productKey} value={p.productKey}>
              {p.name} ({p.productKey})
            </option>
          ))}
        </select>
        <select
          aria-label="Status"
          value={status}
          onChange={(e) => {
            setStatus(e.target.value);
            reset();
          }}
        >
          <option value="">Any status</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s.toLowerCase()}
            </option>
          ))}
        </select>
        <span className="spacer" />
        {can(grants, 'REGISTRY_FULL') ? (
          <Link href="/devices/new" className="button primary">
            New device
          </Link>
        ) : (
          <NotAllowed>Creating devices needs REGISTRY_FULL.</NotAllowed>
        )}
      </div>
      <ErrorMessage error={list.error ?? products.error} />
      {list.loading && !list.data ? <Loading what="devices" /> : null}
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Device key</th>
            <th>Product</th>
            <th>Status</th>
            <th>Asset id</th>
            <th>Last data</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((d) => (
            <tr key={d.assetId}>
              <td>
                <Link href={`/devices/${encodeURIComponent(d.assetId)}`}>{d.name}</Link>
              </td>
              <td className="mono">{d.deviceKey}</td>
              <td className="mono">{d.productKey}</td>
              <td>
                <span className={`badge ${d.status}`}>{d.status.toLowerCase()}</span>
              </td>
              <td className="mono">{d.assetId}</td>
              <td>{formatTime(d.measurepointLastUpdate)}</td>
            </tr>
          ))}
          {!rows.length && !list.loading ? (
            <tr>
              <td colSpan={6} className="muted">
                {search || productKey || status ? 'No device matches.' : 'No devices yet, or none this service account may see.'}
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <Pager paging={paging} pageInfo={list.data?.devices.pageInfo} count={rows.length} total={list.data?.devices.totalCount ?? 0} pageSize={PAGE_SIZE} />
    </section>
  );
}
