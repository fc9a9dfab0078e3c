import { useState } from 'react';
import { Link } from 'wouter';
import { gql } from '../api/client';
import { can, canEverywhere } from '../api/permissions';
import { useSession } from '../api/session-store';
import { useApi } from '../api/use-api';
import { ErrorMessage, Loading, NotAllowed } from '../components/error-message';
import { formatTime } from '../components/format';
import { Pager, usePaging, type PageInfo } from '../components/pager';
import { SearchBox } from '../components/search-box';

const PAGE_SIZE = 20;

interface ProductRow {
  readonly productKey: string;
  readonly name: string;
  readonly description: string;
  readonly dataFormat: string;
  readonly updatedAt: string;
  readonly model: { readonly identifier: string; readonly name: string };
}

const PRODUCTS = `query Products($filter: ProductFilter, $first: Int, $after: String) {
  products(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { productKey name description dataFormat updatedAt model { identifier name } } }
  }
}`;

/** Products: search, page, create and edit. */
export function ProductsPage() {
  const grants = useSession().me.serviceAccount.grants;
  const [search, setSearch] = useState('');
  const paging = usePaging(PAGE_SIZE);
  const allowed = can(grants, 'REGISTRY_READ');
  const list = useApi(
    (signal) =>
      allowed
        ? gql<{ products: { totalCount: number; pageInfo: PageInfo; edges: { node: ProductRow }[] } }>(PRODUCTS, { filter: search ? { search } : null, first: PAGE_SIZE, after: paging.after }, { signal })
        : Promise.resolve(null),
    [search, paging.after, allowed],
  );
  if (!allowed) return <NotAllowed>This service account cannot see products: it needs REGISTRY_READ.</NotAllowed>;
  const rows = list.data?.products.edges.map((e) => e.node) ?? [];
  return (
    <section>
      <h1>Products</h1>
      <div className="toolbar">
        <SearchBox
          label="Search products"
          placeholder="Search by key or name"
          onSearch={(t) => {
            setSearch(t);
            paging.reset();
          }}
        />
        <span className="spacer" />
        {canEverywhere(grants, 'REGISTRY_FULL') ? (
          <Link href="/products/new" className="button primary">
            New product
          </Link>
        ) : (
          <NotAllowed>Creating products needs REGISTRY_FULL on the whole organisation.</NotAllowed>
        )}
      </div>
      <ErrorMessage error={list.error} />
      {list.loading && !list.data ? <Loading what="products" /> : null}
      <table>
        <thead>
          <tr>
            <th>Product key</th>
            <th>Name</th>
            <th>Thing model</th>
            <th>Format</th>
            <th>Changed</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((p) => (
            <tr key={p.productKey}>
              <td className="mono">{p.productKey}</td>
              <td>
                {p.name}
                {p.description ? <div className="muted">{p.description}</div> : null}
              </td>
              <td>
                {p.model.name} <span className="muted mono">{p.model.identifier}</span>
              </td>
              <td>{p.dataFormat}</td>
              <td>{formatTime(p.updatedAt)}</td>
              <td>
                <Link href={`/products/${encodeURIComponent(p.productKey)}/devices`}>Devices</Link>
                {can(grants, 'REGISTRY_FULL', { productKey: p.productKey }) ? (
                  <>
                    {' · '}
                    <Link href={`/products/${encodeURIComponent(p.productKey)}/edit`}>Edit</Link>
                  </>
                ) : null}
              </td>
            </tr>
          ))}
          {!rows.length && !list.loading ? (
            <tr>
              <td colSpan={6} className="muted">
                {search ? 'No product matches the search.' : 'No products yet.'}
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <Pager paging={paging} pageInfo={list.data?.products.pageInfo} count={rows.length} total={list.data?.products.totalCount ?? 0} pageSize={PAGE_SIZE} />
    </section>
  );
}
