import { useState } from 'react';
import { Link, useLocation, useParams } from 'wouter';
import { gql } from '../api/client';
import { getModel } from '../api/models';
import { can } from '../api/permissions';
import { getEffectivePolicy, getModelPolicies, type StoragePolicy } from '../api/policies';
import { useSession } from '../api/session-store';
import { useApi } from '../api/use-api';
import { ErrorMessage, Loading, NotAllowed } from '../components/error-message';
import { ComputedEditor } from '../components/policies/computed-editor';
import { EffectivePolicy } from '../components/policies/effective-policy';
import { ProcessingEditor } from '../components/policies/processing-editor';
import { StorageEditor } from '../components/policies/storage-editor';
import '../admin.css';

const NUMERIC = new Set(['INT', 'FLOAT', 'DOUBLE']);

/** The policies of one point: the effective policy, and editors for its processing and computation. */
function PointPolicies({ model, point, numeric, sources, canEdit, revision, onSaved }: { readonly model: string; readonly point: string; readonly numeric: boolean; readonly sources: readonly string[]; readonly canEdit: boolean; readonly revision: number; readonly onSaved: () => void }) {
  const effective = useApi((signal) => getEffectivePolicy(model, point, signal), [model, point, revision]);
  if (effective.error) return <ErrorMessage error={effective.error} />;
  if (!effective.data) return <Loading what="the policy" />;
  // The editors start from what the server says: a new policy revision starts them again.
  const key = `${model}/${point}/${effective.data.revision}`;
  return (
    <div className="stack">
      <EffectivePolicy policy={effective.data} />
      {effective.data.computed ? (
        <p className="hint">A computed point has no processing policy.</p>
      ) : (
        <ProcessingEditor key={`p-${key}`} model={model} point={point} policy={effective.data.processing} canEdit={canEdit} onSaved={onSaved} />
      )}
      {numeric ? <ComputedEditor key={`c-${key}`} model={model} point={point} computed={effective.data.computed} sources={sources} canEdit={canEdit} onSaved={onSaved} /> : <p className="hint">Only numeric points can be computed.</p>}
    </div>
  );
}

/** The storage policies of a model, with an editor for one of them. */
function StoragePolicies({ model, policies, points, canEdit, onSaved }: { readonly model: string; readonly policies: readonly StoragePolicy[]; readonly points: readonly string[]; readonly canEdit: boolean; readonly onSaved: () => void }) {
  const [editing, setEditing] = useState<StoragePolicy | 'new' | null>(null);
  return (
    <div className="section" data-testid="storage-policies">
      <h2>Storage policies</h2>
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Points</th>
            <th>Forms and retention</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {policies.map((p) => (
            <tr key={p.name} data-policy={p.name}>
              <td>{p.name}</td>
              <td>{p.points ? p.points.join(', ') : <span className="muted">model default</span>}</td>
              <td>{p.forms.length ? p.forms.map((f) => `${f.form} ${f.retentionDays} d`).join(', ') : 'only the latest value'}</td>
              <td>
                <button type="button" onClick={() => setEditing(p)}>
                  {canEdit ? 'Edit' : 'View'}
                </button>
              </td>
            </tr>
          ))}
          {!policies.length ? (
            <tr>
              <td colSpan={4} className="muted">
                None: every point follows the service default.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      {canEdit && editing === null ? (
        <div className="actions">
          <button type="button" onClick={() => setEditing('new')}>
            New storage policy
          </button>
        </div>
      ) : null}
      {editing !== null ? (
        <div className="section">
          <StorageEditor
            key={editing === 'new' ? 'new' : editing.name}
            model={model}
            policy={editing === 'new' ? null : editing}
            points={points}
            canEdit={canEdit}
            onCancel={() => setEditing(null)}
            onSaved={() => {
              setEditing(null);
              onSaved();
            }}
          />
        </div>
      ) : null}
    </div>
  );
}

/** Policies of a thing model: the effective policy of each point; processing, storage and computed points. */
export function PoliciesPage() {
  const params = useParams<{ model?: string; point?: string }>();
  const model = params.model ?? '';
  const [, navigate] = useLocation();
  const grants = useSession().me.serviceAccount.grants;
  const allowed = can(grants, 'REGISTRY_READ');
  const canEdit = can(grants, 'REGISTRY_FULL');
  const [revision, setRevision] = useState(0);
  const models = useApi((signal) => (allowed ? gql<{ thingModels: { edges: { node: { identifier: string; name: string } }[] } }>('{ thingModels(first: 200) { edges { node { identifier name } } } }', {}, { signal }) : Promise.resolve(null)), [allowed]);
  const def = useApi((signal) => (allowed && model ? getModel(model, signal) : Promise.resolve(null)), [allowed, model]);
  const policies = useApi((signal) => (allowed && model && def.data ? getModelPolicies(model, signal) : Promise.resolve(null)), [allowed, model, def.data, revision]);
  if (!allowed) return <NotAllowed>Your service account may not see policies (needs REGISTRY_READ).</NotAllowed>;
  const points = def.data?.document.measurePoints ?? [];
  const numericPoints = points.filter((p) => p.type && NUMERIC.has(p.type.dataType)).map((p) => p.identifier);
  const point = points.find((p) => p.identifier === params.point);
  const p = policies.data;
  const saved = () => setRevision((r) => r + 1);
  return (
    <section>
      <h1>Policies</h1>
      <div className="toolbar">
        <label>
          Thing model
          <select value={model} onChange={(e) => navigate(e.target.value ? `/policies/${encodeURIComponent(e.target.value)}` : '/policies')}>
            <option value="">Choose a model…</option>
            {models.data?.thingModels.edges.map((e) => (
              <option key={e.node.identifier} value={e.node.identifier}>
                {e.node.name} ({e.node.identifier})
              </option>
            ))}
          </select>
        </label>
        <span className="spacer" />
        {!canEdit ? <NotAllowed>Your service account may only look: changing policies needs REGISTRY_FULL.</NotAllowed> : null}
      </div>
      <ErrorMessage error={models.error ?? def.error ?? policies.error} />
      {model && def.data === null && !def.loading && !def.error ? <NotAllowed>This thing model does not exist, or this service account cannot see it.</NotAllowed> : null}
      {model && def.data && p ? (
        <>
          <div className="policy-grid">
            <nav className="point-list card" aria-label="Measure points">
              <h2>Measure points</h2>
              {points.map((mp) => {
                const marks = [p.processing.some((x) => x.point === mp.identifier) ? 'processed' : null, p.computed.some((x) => x.point === mp.identifier) ? 'computed' : null].filter(Boolean);
                return (
                  <Link key={mp.identifier} href={`/policies/${encodeURIComponent(model)}/points/${encodeURIComponent(mp.identifier)}`} className={`nav-item${mp.identifier === params.point ? ' active' : ''}`}>
                    {mp.identifier}
                    {marks.length ? <span className="muted"> · {marks.join(', ')}</span> : null}
                  </Link>
                );
              })}
              {!points.length ? <p className="muted">The model has no measure points.</p> : null}
            </nav>
            <div>
              {point ? (
                <PointPolicies model={model} point={point.identifier} numeric={numericPoints.includes(point.identifier)} sources={numericPoints} canEdit={canEdit} revision={revision} onSaved={saved} />
              ) : (
                <p className="muted">Choose a measure point to see the policy that applies to it and to change its processing or computation.</p>
              )}
            </div>
          </div>
          <StoragePolicies model={model} policies={p.storage} points={points.map((x) => x.identifier)} canEdit={canEdit} onSaved={saved} />
          <p className="hint">
            Model version {p.modelVersion}, policy revision {p.revision}. Policies apply to new values; stored data is never rewritten.
          </p>
        </>
      ) : null}
    </section>
  );
}
