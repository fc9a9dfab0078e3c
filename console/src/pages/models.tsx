import { useState } from 'react';
import { Link, useLocation } from 'wouter';
import { gql } from '../api/client';
import { ApiError } from '../api/errors';
import { importModel, type ModelRow } from '../api/models';
import { can } from '../api/permissions';
import { useSession } from '../api/session-store';
import { useAction, useApi } from '../api/use-api';
import { ErrorMessage, Loading, NotAllowed } from '../components/error-message';
import { formatTime } from '../components/format';
import { Pager, usePaging, type PageInfo } from '../components/pager';
import { SearchBox } from '../components/search-box';
import '../admin.css';

const PAGE_SIZE = 20;

const MODELS = `query Models($filter: ThingModelFilter, $first: Int, $after: String) {
  thingModels(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { identifier name description version updatedAt attributes { identifier } measurePoints { identifier } events { identifier } services { identifier } } }
  }
}`;

/** Reads a chosen file as a JSON document. */
async function readJsonFile(file: File): Promise<unknown> {
  const text = await file.text();
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ApiError('BAD_USER_INPUT', `${file.name} is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Imports a model from an exported JSON file. */
function ImportForm() {
  const [, navigate] = useLocation();
  const [file, setFile] = useState<File | null>(null);
  const [replace, setReplace] = useState(false);
  const run = useAction(async () => {
    if (!file) return;
    const id = await importModel(await readJsonFile(file), replace);
    navigate(`/models/${encodeURIComponent(id)}`);
  });
  return (
    <form
      className="card row"
      onSubmit={(e) => {
        e.preventDefault();
        void run.run();
      }}
    >
      <label>
        Model JSON file
        <input type="file" accept="application/json,.json" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
      </label>
      <label className="check">
        <input type="checkbox" checked={replace} onChange={(e) => setReplace(e.target.checked)} /> Replace a model with the same identifier
      </label>
      <button type="submit" disabled={!file || run.running}>
        Import
      </button>
      <ErrorMessage error={run.error} />
    </form>
  );
}

/** Thing models: search, page, create, import. */
export function ModelsPage() {
  const grants = useSession().me.serviceAccount.grants;
  const [search, setSearch] = useState('');
  const paging = usePaging(PAGE_SIZE);
  const allowed = can(grants, 'REGISTRY_READ');
  const list = useApi(
    (signal) =>
      allowed
        ? gql<{ thingModels: { totalCount: number; pageInfo: PageInfo; edges: { node: ModelRow }[] } }>(MODELS, { filter: search ? { search } : null, first: PAGE_SIZE, after: paging.after }, { signal })
        : Promise.resolve(null),
    [search, paging.after, allowed],
  );
  if (!allowed) return <NotAllowed>Your service account may not see thing models (needs REGISTRY_READ).</NotAllowed>;
  const full = can(grants, 'REGISTRY_FULL');
  const rows = list.data?.thingModels.edges.map((e) => e.node) ?? [];
  return (
    <section>
      <h1>Thing models</h1>
      <div className="toolbar">
        <SearchBox
          label="Search thing models"
          placeholder="Search by name"
          onSearch={(t) => {
            setSearch(t);
            paging.reset();
          }}
        />
        <span className="spacer" />
        {full ? (
          <Link href="/models/new" className="button primary">
            New thing model
          </Link>
        ) : (
          <NotAllowed>Creating, importing and changing thing models needs REGISTRY_FULL.</NotAllowed>
        )}
      </div>
      {full ? <ImportForm /> : null}
      <ErrorMessage error={list.error} />
      {list.loading && !list.data ? <Loading what="thing models" /> : null}
      <table className="section">
        <thead>
          <tr>
            <th>Identifier</th>
            <th>Name</th>
            <th className="num">Points</th>
            <th className="num">Attributes</th>
            <th className="num">Events</th>
            <th className="num">Services</th>
            <th className="num">Version</th>
            <th>Changed</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((m) => (
            <tr key={m.identifier} data-model={m.identifier}>
              <td className="mono">
                <Link href={`/models/${encodeURIComponent(m.identifier)}`}>{m.identifier}</Link>
              </td>
              <td>
                {m.name}
                {m.description ? <div className="muted">{m.description}</div> : null}
              </td>
              <td className="num">{m.measurePoints.length}</td>
              <td className="num">{m.attributes.length}</td>
              <td className="num">{m.events.length}</td>
              <td className="num">{m.services.length}</td>
              <td className="num">{m.version}</td>
              <td>{formatTime(m.updatedAt)}</td>
            </tr>
          ))}
          {!rows.length && !list.loading ? (
            <tr>
              <td colSpan={8} className="muted">
                {search ? 'No thing model matches the search.' : 'No thing models yet.'}
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <Pager paging={paging} pageInfo={list.data?.thingModels.pageInfo} count={rows.length} total={list.data?.thingModels.totalCount ?? 0} pageSize={PAGE_SIZE} />
    </section>
  );
}
