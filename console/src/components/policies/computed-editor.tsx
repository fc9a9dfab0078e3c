import { useState } from 'react';
import { deleteComputedPoint, setComputedPoint, WINDOW_FUNCTIONS, type ComputedPoint } from '../../api/policies';
import { useAction } from '../../api/use-api';
import { ConfirmButton } from '../confirm-button';
import { ErrorMessage } from '../error-message';

/** Makes a point computed (an expression, or a function over a window of a source point), or stops computing it. */
export function ComputedEditor({ model, point, computed, sources, canEdit, onSaved }: { readonly model: string; readonly point: string; readonly computed: ComputedPoint | null; readonly sources: readonly string[]; readonly canEdit: boolean; readonly onSaved: () => void }) {
  const [kind, setKind] = useState<'EXPRESSION' | 'WINDOW'>(computed?.kind ?? 'EXPRESSION');
  const [expression, setExpression] = useState(computed?.expression ?? '');
  const [source, setSource] = useState(computed?.window?.source ?? sources.find((s) => s !== point) ?? '');
  const [fn, setFn] = useState(computed?.window?.function ?? 'AVG');
  const [sizeS, setSizeS] = useState(String(computed?.window?.sizeS ?? 900));
  const [saved, setSaved] = useState<string | null>(null);
  const save = useAction(async () => {
    await setComputedPoint(model, kind === 'EXPRESSION' ? { point, expression } : { point, window: { source, function: fn, sizeS: Number(sizeS) } });
    setSaved(`${point} is computed now.`);
    onSaved();
  });
  const remove = useAction(async () => {
    await deleteComputedPoint(model, point);
    setSaved(`${point} is no longer computed.`);
    onSaved();
  });
  return (
    <form
      className="card"
      data-testid="computed-editor"
      onSubmit={(e) => {
        e.preventDefault();
        void save.run();
      }}
    >
      <h2>Computation of {point}</h2>
      <p className="hint">{computed ? `Computed from ${computed.inputs.join(', ')}.` : 'Reported by devices (not computed).'}</p>
      <fieldset className="plain stack" disabled={!canEdit || save.running || remove.running}>
        <div className="scope-choice" role="radiogroup" aria-label="How it is computed">
          <label className="check">
            <input type="radio" name="computed-kind" checked={kind === 'EXPRESSION'} onChange={() => setKind('EXPRESSION')} /> Expression over other points
          </label>
          <label className="check">
            <input type="radio" name="computed-kind" checked={kind === 'WINDOW'} onChange={() => setKind('WINDOW')} /> Function over a time window
          </label>
        </div>
        {kind === 'EXPRESSION' ? (
          <label>
            Expression
            <input className="mono" value={expression} onChange={(e) => setExpression(e.target.value)} placeholder="voltage * current / 1000" maxLength={1000} />
          </label>
        ) : (
          <div className="row">
            <label>
              Function
              <select value={fn} onChange={(e) => setFn(e.target.value)}>
                {WINDOW_FUNCTIONS.map((f) => (
                  <option key={f}>{f}</option>
                ))}
              </select>
            </label>
            <label>
              Of point
              <select value={source} onChange={(e) => setSource(e.target.value)}>
                {sources
                  .filter((s) => s !== point)
                  .map((s) => (
                    <option key={s}>{s}</option>
                  ))}
              </select>
            </label>
            <label>
              Window (seconds)
              <input type="number" min={1} max={86400} value={sizeS} onChange={(e) => setSizeS(e.target.value)} />
            </label>
          </div>
        )}
      </fieldset>
      <ErrorMessage error={save.error ?? remove.error} />
      {saved && !save.error && !remove.error ? <p className="success">{saved}</p> : null}
      <div className="actions">
        <button type="submit" className="primary" disabled={!canEdit || save.running || (kind === 'EXPRESSION' ? !expression.trim() : !source)}>
          Save computation
        </button>
        <span className="spacer" />
        {computed && canEdit ? <ConfirmButton label="Stop computing" confirmLabel="Really stop computing it?" onConfirm={() => void remove.run()} /> : null}
      </div>
    </form>
  );
}
