import { useState } from 'react';
import { gql } from '../../api/client';
import { useApi } from '../../api/use-api';
import type { AttributeDef } from '../attribute-inputs';
import { ErrorMessage, Loading } from '../error-message';
import { formatTime, formatValue } from '../format';
import { Pager, usePaging, type PageInfo } from '../pager';

const PAGE_SIZE = 20;
const VALUES = `query ($id: ID!) { attributeValues(device: { assetId: $id }) { attribute value updatedAt } }`;
const HISTORY = `query ($id: ID!, $attribute: String!, $first: Int, $after: String) {
  attributeHistory(device: { assetId: $id }, attribute: $attribute, first: $first, after: $after) { pageInfo { hasNextPage endCursor } edges { node { time value source } } }
}`;

/** Changes of one attribute, newest first, paged. */
function AttributeHistory({ assetId, attribute }: { readonly assetId: string; readonly attribute: string }) {
  const paging = usePaging(PAGE_SIZE);
  const h = useApi(
    (signal) => gql<{ attributeHistory: { pageInfo: PageInfo; edges: { node: { time: number; value: unknown; source: string } }[] } }>(HISTORY, { id: assetId, attribute, first: PAGE_SIZE, after: paging.after }, { signal }),
    [assetId, attribute, paging.after],
  );
  const rows = h.data?.attributeHistory.edges.map((e) => e.node) ?? [];
  return (
    <div className="section" data-testid="attribute-history">
      <h3>History of {attribute}</h3>
      <ErrorMessage error={h.error} />
      <table>
        <thead>
          <tr>
            <th>Time</th>
            <th>Value</th>
            <th>Source</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={`${r.time}-${i}`}>
              <td>{formatTime(r.time)}</td>
              <td className="mono">{formatValue(r.value)}</td>
              <td>{r.source}</td>
            </tr>
          ))}
          {!rows.length && !h.loading ? (
            <tr>
              <td colSpan={3} className="muted">
                No changes recorded.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <Pager paging={paging} pageInfo={h.data?.attributeHistory.pageInfo} count={rows.length} pageSize={PAGE_SIZE} />
    </div>
  );
}

/** Current attribute values, and the history of the one chosen. */
export function AttributesPanel({ assetId, defs }: { readonly assetId: string; readonly defs: readonly AttributeDef[] }) {
  const values = useApi((signal) => gql<{ attributeValues: { attribute: string; value: unknown; updatedAt: number }[] }>(VALUES, { id: assetId }, { signal }), [assetId]);
  const [chosen, setChosen] = useState<string | null>(null);
  if (values.loading && !values.data) return <Loading what="attributes" />;
  const byId = new Map(values.data?.attributeValues.map((v) => [v.attribute, v]));
  return (
    <div>
      <ErrorMessage error={values.error} />
      <table>
        <thead>
          <tr>
            <th>Attribute</th>
            <th>Value</th>
            <th>Changed</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {defs.map((d) => {
            const v = byId.get(d.identifier);
            return (
              <tr key={d.identifier}>
                <td>
                  {d.name || d.identifier} <span className="muted mono">{d.identifier}</span>
                </td>
                <td className="mono">
                  {formatValue(v?.value)}
                  {v && d.unit ? ` ${d.unit}` : ''}
                </td>
                <td>{v ? formatTime(v.updatedAt) : '—'}</td>
                <td>
                  <button type="button" className="link" onClick={() => setChosen(d.identifier)}>
                    History
                  </button>
                </td>
              </tr>
            );
          })}
          {!defs.length ? (
            <tr>
              <td colSpan={4} className="muted">
                The thing model has no attributes.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      {chosen ? <AttributeHistory key={chosen} assetId={assetId} attribute={chosen} /> : null}
    </div>
  );
}
