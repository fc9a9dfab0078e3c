import { useEffect, useState } from 'react';
import { useLocation, useParams } from 'wouter';
import { ApiError } from '../api/errors';
import { createModel, getModel, tidyDocument, updateModel, type ModelDocument } from '../api/models';
import { can } from '../api/permissions';
import { useSession } from '../api/session-store';
import { useAction, useApi } from '../api/use-api';
import { ErrorMessage, Loading, NotAllowed } from '../components/error-message';
import { ModelForm } from '../components/models/model-form';
import '../admin.css';

const EMPTY: ModelDocument = { identifier: '', name: '', measurePoints: [], attributes: [], events: [], services: [] };

/** Parses the JSON tab's text as a model document (BAD_USER_INPUT in words when it is not one). */
function parseDocument(text: string): ModelDocument {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ApiError('BAD_USER_INPUT', `The JSON is not valid: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ApiError('BAD_USER_INPUT', 'The JSON must be an object with identifier, name and the feature lists.');
  const d = v as ModelDocument;
  if (typeof d.identifier !== 'string' || typeof d.name !== 'string') throw new ApiError('BAD_USER_INPUT', 'The JSON needs "identifier" and "name" strings.');
  return d;
}

/** Creates a thing model (/models/new) or edits one (/models/:identifier/edit), in a form or as JSON. */
export function ModelEditPage() {
  const params = useParams<{ identifier?: string }>();
  const editing = params.identifier !== undefined;
  const [, navigate] = useLocation();
  const allowed = can(useSession().me.serviceAccount.grants, 'REGISTRY_FULL');
  const [doc, setDoc] = useState<ModelDocument>(EMPTY);
  const [tab, setTab] = useState<'form' | 'json'>('form');
  const [jsonText, setJsonText] = useState('');
  const [jsonError, setJsonError] = useState<ApiError | null>(null);
  const loaded = useApi((signal) => (editing && allowed ? getModel(params.identifier ?? '', signal) : Promise.resolve(null)), [params.identifier, allowed]);
  useEffect(() => {
    if (loaded.data) setDoc(loaded.data.document);
  }, [loaded.data]);
  const switchTo = (next: 'form' | 'json') => {
    if (next === tab) return;
    if (next === 'json') {
      setJsonText(JSON.stringify(tidyDocument(doc), null, 2));
      setJsonError(null);
    } else {
      try {
        setDoc(parseDocument(jsonText));
      } catch (e) {
        setJsonError(e as ApiError);
        return;
      }
    }
    setTab(next);
  };
  const save = useAction(async () => {
    const current = tab === 'json' ? parseDocument(jsonText) : doc;
    const id = editing ? await updateModel(params.identifier ?? '', current) : await createModel(current);
    navigate(`/models/${encodeURIComponent(id)}`);
  });
  const title = editing ? `Edit thing model ${params.identifier}` : 'New thing model';
  if (!allowed)
    return (
      <section>
        <h1>{title}</h1>
        <NotAllowed>Your service account may not create or change thing models (needs REGISTRY_FULL).</NotAllowed>
      </section>
    );
  if (editing && loaded.loading && !loaded.data) return <Loading what="the thing model" />;
  if (editing && loaded.error) return <ErrorMessage error={loaded.error} />;
  if (editing && !loaded.data) return <NotAllowed>This thing model does not exist, or this service account cannot see it.</NotAllowed>;
  return (
    <section>
      <h1>{title}</h1>
      {editing ? <p className="hint">Saving replaces the whole definition; the service refuses a change that would break stored data.</p> : null}
      <div className="tabs" role="tablist">
        <button type="button" role="tab" aria-selected={tab === 'form'} className={`tab${tab === 'form' ? ' active' : ''}`} onClick={() => switchTo('form')}>
          Form
        </button>
        <button type="button" role="tab" aria-selected={tab === 'json'} className={`tab${tab === 'json' ? ' active' : ''}`} onClick={() => switchTo('json')}>
          JSON
        </button>
      </div>
      <form
        className="section"
        onSubmit={(e) => {
          e.preventDefault();
          void save.run();
        }}
      >
        <fieldset className="plain" disabled={save.running}>
          {tab === 'form' ? (
            <ModelForm doc={doc} onChange={setDoc} editing={editing} />
          ) : (
            <label>
              Model JSON
              <textarea className="json-editor" spellCheck={false} value={jsonText} onChange={(e) => setJsonText(e.target.value)} />
              <span className="hint">The same document that Export JSON gives and Import takes.</span>
            </label>
          )}
        </fieldset>
        <ErrorMessage error={jsonError ?? save.error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={save.running}>
            {editing ? 'Save model' : 'Create model'}
          </button>
          <button type="button" onClick={() => navigate(editing ? `/models/${encodeURIComponent(params.identifier ?? '')}` : '/models')}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}
