import { Link, useLocation, useParams } from 'wouter';
import { deleteModel, exportModel, getModel } from '../api/models';
import { saveBlob } from '../api/files';
import { can } from '../api/permissions';
import { useSession } from '../api/session-store';
import { useAction, useApi } from '../api/use-api';
import { ConfirmButton } from '../components/confirm-button';
import { ErrorMessage, Loading, NotAllowed } from '../components/error-message';
import { formatTime } from '../components/format';
import { FeatureTables } from '../components/models/feature-tables';
import '../admin.css';

/** One thing model: its features with types and units, export, and links to edit it and its policies. */
export function ModelDetailsPage() {
  const { identifier = '' } = useParams<{ identifier: string }>();
  const [, navigate] = useLocation();
  const grants = useSession().me.serviceAccount.grants;
  const allowed = can(grants, 'REGISTRY_READ');
  const full = can(grants, 'REGISTRY_FULL');
  const model = useApi((signal) => (allowed ? getModel(identifier, signal) : Promise.resolve(null)), [identifier, allowed]);
  const download = useAction(async () => {
    const doc = await exportModel(identifier);
    saveBlob(new Blob([`${JSON.stringify(doc, null, 2)}\n`], { type: 'application/json' }), `${identifier}.json`);
  });
  const remove = useAction(async () => {
    await deleteModel(identifier);
    navigate('/models');
  });
  if (!allowed) return <NotAllowed>Your service account may not see thing models (needs REGISTRY_READ).</NotAllowed>;
  if (model.loading && !model.data) return <Loading what="the thing model" />;
  if (model.error) return <ErrorMessage error={model.error} />;
  const m = model.data;
  if (!m) return <NotAllowed>This thing model does not exist, or this service account cannot see it.</NotAllowed>;
  return (
    <section>
      <h1>
        {m.name} <span className="muted mono">{m.identifier}</span>
      </h1>
      <dl className="kv">
        <dt>Description</dt>
        <dd>{m.description || '—'}</dd>
        <dt>Version</dt>
        <dd>{m.version}</dd>
        <dt>Created</dt>
        <dd>{formatTime(m.createdAt)}</dd>
        <dt>Changed</dt>
        <dd>{formatTime(m.updatedAt)}</dd>
      </dl>
      <div className="toolbar">
        <button type="button" onClick={() => void download.run()} disabled={download.running}>
          Export JSON
        </button>
        <Link href={`/policies/${encodeURIComponent(m.identifier)}`} className="button">
          Policies
        </Link>
        <span className="spacer" />
        {full ? (
          <>
            <Link href={`/models/${encodeURIComponent(m.identifier)}/edit`} className="button primary">
              Edit
            </Link>
            <ConfirmButton label="Delete model" confirmLabel="Really delete the model?" onConfirm={() => void remove.run()} />
          </>
        ) : (
          <NotAllowed>Changing thing models needs REGISTRY_FULL.</NotAllowed>
        )}
      </div>
      <ErrorMessage error={download.error ?? remove.error} />
      <FeatureTables doc={m.document} />
    </section>
  );
}
