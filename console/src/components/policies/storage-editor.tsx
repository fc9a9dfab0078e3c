import { useState } from 'react';
import { deleteStoragePolicy, setStoragePolicy, STORAGE_FORMS, type StoragePolicy } from '../../api/policies';
import { useAction } from '../../api/use-api';
import { ConfirmButton } from '../confirm-button';
import { ErrorMessage } from '../error-message';

const FORM_WORDS: Readonly<Record<(typeof STORAGE_FORMS)[number], string>> = {
  RAW: 'Raw history (every value)',
  NORMALIZED_1M: 'One value per minute',
  ROLLUP_1M: 'Per-minute rollups',
  ROLLUP_1H: 'Per-hour rollups',
  ROLLUP_1D: 'Per-day rollups',
};

/** Creates or changes a storage policy of a model: its points (or the model default) and forms with retention. */
export function StorageEditor({ model, policy, points, canEdit, onSaved, onCancel }: { readonly model: string; readonly policy: StoragePolicy | null; readonly points: readonly string[]; readonly canEdit: boolean; readonly onSaved: () => void; readonly onCancel: () => void }) {
  const [name, setName] = useState(policy?.name ?? '');
  const [isDefault, setIsDefault] = useState(policy ? policy.points === null : false);
  const [chosen, setChosen] = useState<string[]>([...(policy?.points ?? [])]);
  const [days, setDays] = useState<Record<string, string>>(Object.fromEntries((policy?.forms ?? []).map((f) => [f.form, String(f.retentionDays)])));
  const save = useAction(async () => {
    const forms = STORAGE_FORMS.filter((f) => days[f] !== undefined).map((f) => ({ form: f, retentionDays: Number(days[f]) }));
    await setStoragePolicy(model, name.trim(), isDefault ? null : chosen, forms);
    onSaved();
  });
  const remove = useAction(async () => {
    await deleteStoragePolicy(model, name);
    onSaved();
  });
  return (
    <form
      className="card"
      data-testid="storage-editor"
      onSubmit={(e) => {
        e.preventDefault();
        void save.run();
      }}
    >
      <h2>{policy ? `Storage policy ${policy.name}` : 'New storage policy'}</h2>
      <fieldset className="plain stack" disabled={!canEdit || save.running}>
        <label>
          Policy name
          <input value={name} onChange={(e) => setName(e.target.value)} disabled={!!policy} required />
        </label>
        <div className="scope-choice" role="radiogroup" aria-label="Points of the policy">
          <label className="check">
            <input type="radio" name="storage-scope" checked={isDefault} onChange={() => setIsDefault(true)} /> The model default (every point no other policy lists)
          </label>
          <label className="check">
            <input type="radio" name="storage-scope" checked={!isDefault} onChange={() => setIsDefault(false)} /> These points
          </label>
        </div>
        {!isDefault ? (
          <div className="picker" data-testid="storage-points">
            {points.map((p) => (
              <label key={p}>
                <input type="checkbox" checked={chosen.includes(p)} onChange={(e) => setChosen(e.target.checked ? [...chosen, p] : chosen.filter((x) => x !== p))} /> {p}
              </label>
            ))}
          </div>
        ) : null}
        <div className="forms-choice">
          <span className="hint">Forms to store, each with the days it is kept (none: only the latest value is kept).</span>
          {STORAGE_FORMS.map((f) => (
            <div key={f} className="row">
              <label className="check">
                <input type="checkbox" checked={days[f] !== undefined} onChange={(e) => setDays((d) => (e.target.checked ? { ...d, [f]: '365' } : Object.fromEntries(Object.entries(d).filter(([k]) => k !== f))))} /> {FORM_WORDS[f]}
              </label>
              {days[f] !== undefined ? (
                <label className="check">
                  kept <input type="number" min={1} max={7305} aria-label={`${FORM_WORDS[f]}: days kept`} value={days[f]} onChange={(e) => setDays((d) => ({ ...d, [f]: e.target.value }))} /> days
                </label>
              ) : null}
            </div>
          ))}
        </div>
      </fieldset>
      <ErrorMessage error={save.error ?? remove.error} />
      <div className="actions">
        <button type="submit" className="primary" disabled={!canEdit || save.running || !name.trim() || (!isDefault && !chosen.length)}>
          Save storage policy
        </button>
        <button type="button" onClick={onCancel}>
          Close
        </button>
        <span className="spacer" />
        {policy && canEdit ? <ConfirmButton label="Delete policy" confirmLabel="Really delete the policy?" onConfirm={() => void remove.run()} /> : null}
      </div>
    </form>
  );
}
