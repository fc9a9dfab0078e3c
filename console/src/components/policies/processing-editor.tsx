import { useState } from 'react';
import { ApiError } from '../../api/errors';
import { deleteProcessingPolicy, RANGE_ACTIONS, setProcessingPolicy, type ProcessingPolicy, type ProcessingStep, type ProcessingStepInput } from '../../api/policies';
import { useAction } from '../../api/use-api';
import { ErrorMessage } from '../error-message';

type Kind = ProcessingStep['kind'];

/** A step as typed in the form (numbers as text until saved). */
interface StepDraft {
  readonly kind: Kind;
  readonly multiplier: string;
  readonly offset: string;
  readonly min: string;
  readonly max: string;
  readonly action: string;
  readonly delta: string;
  readonly intervalS: string;
  readonly mapping: string;
}

const KIND_WORDS: Readonly<Record<Kind, string>> = { SCALE: 'Scale', RANGE: 'Range', DEADBAND: 'Deadband', ENUM_MAP: 'Enum map' };

const text = (n: number | null | undefined) => (n === null || n === undefined ? '' : String(n));

function toDraft(s: ProcessingStep): StepDraft {
  return {
    kind: s.kind,
    multiplier: text(s.multiplier),
    offset: text(s.offset),
    min: text(s.min),
    max: text(s.max),
    action: s.action ?? 'DROP',
    delta: text(s.delta),
    intervalS: text(s.intervalS),
    mapping: Object.entries(s.mapping ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(', '),
  };
}

const blank = (kind: Kind): StepDraft => ({ kind, multiplier: kind === 'SCALE' ? '1' : '', offset: '', min: '', max: '', action: 'DROP', delta: '', intervalS: '', mapping: '' });

/** A number field's value, or undefined when empty; a word error when not a number. */
function num(v: string, what: string, i: number): number | undefined {
  if (v.trim() === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new ApiError('BAD_USER_INPUT', `Step ${i + 1}: ${what} is not a number.`);
  return n;
}

function toInput(d: StepDraft, i: number): ProcessingStepInput {
  const opt = <T,>(k: string, v: T | undefined) => (v === undefined ? {} : { [k]: v });
  switch (d.kind) {
    case 'SCALE':
      return { scale: { multiplier: num(d.multiplier, 'the multiplier', i) ?? 1, ...opt('offset', num(d.offset, 'the offset', i)) } };
    case 'RANGE':
      return { range: { action: d.action, ...opt('min', num(d.min, 'the minimum', i)), ...opt('max', num(d.max, 'the maximum', i)) } };
    case 'DEADBAND':
      return { deadband: { ...opt('delta', num(d.delta, 'delta', i)), ...opt('intervalS', num(d.intervalS, 'the interval', i)) } };
    case 'ENUM_MAP':
      return {
        enumMap: {
          mapping: Object.fromEntries(
            d.mapping
              .split(',')
              .map((p) => p.split('=').map((x) => x.trim()))
              .filter((p) => p[0])
              .map(([k, v]) => [k, v ?? '']),
          ),
        },
      };
    default: {
      const never: never = d.kind;
      return never;
    }
  }
}

function StepFields({ d, set }: { readonly d: StepDraft; readonly set: (patch: Partial<StepDraft>) => void }) {
  const field = (k: keyof StepDraft, label: string) => (
    <label>
      {label}
      <input type="number" step="any" value={d[k]} onChange={(e) => set({ [k]: e.target.value })} />
    </label>
  );
  switch (d.kind) {
    case 'SCALE':
      return (
        <>
          {field('multiplier', 'Multiplier')}
          {field('offset', 'Offset')}
        </>
      );
    case 'RANGE':
      return (
        <>
          {field('min', 'Minimum')}
          {field('max', 'Maximum')}
          <label>
            Outside the range
            <select value={d.action} onChange={(e) => set({ action: e.target.value })}>
              {RANGE_ACTIONS.map((a) => (
                <option key={a} value={a}>
                  {a === 'DROP' ? 'drop the value' : a === 'CLAMP' ? 'clamp to the bound' : 'keep it, marked bad'}
                </option>
              ))}
            </select>
          </label>
        </>
      );
    case 'DEADBAND':
      return (
        <>
          {field('delta', 'Moved more than')}
          {field('intervalS', 'Or seconds passed')}
        </>
      );
    case 'ENUM_MAP':
      return (
        <label>
          Received=stored, separated by commas
          <input value={d.mapping} onChange={(e) => set({ mapping: e.target.value })} placeholder="3=2, 4=2" />
        </label>
      );
    default:
      return null;
  }
}

/** Edits the processing policy of one point: ordered steps and whether raw values are kept. */
export function ProcessingEditor({ model, point, policy, canEdit, onSaved }: { readonly model: string; readonly point: string; readonly policy: ProcessingPolicy | null; readonly canEdit: boolean; readonly onSaved: () => void }) {
  const [steps, setSteps] = useState<StepDraft[]>(policy?.steps.map(toDraft) ?? []);
  const [keepRaw, setKeepRaw] = useState(policy?.keepRaw ?? false);
  const [adding, setAdding] = useState<Kind>('SCALE');
  const [saved, setSaved] = useState(false);
  const save = useAction(async () => {
    setSaved(false);
    if (steps.length) await setProcessingPolicy(model, point, steps.map(toInput), keepRaw);
    else if (policy) await deleteProcessingPolicy(model, point);
    setSaved(true);
    onSaved();
  });
  const move = (i: number, by: number) => {
    const next = [...steps];
    const [s] = next.splice(i, 1);
    if (s) next.splice(i + by, 0, s);
    setSteps(next);
  };
  return (
    <form
      className="card"
      data-testid="processing-editor"
      onSubmit={(e) => {
        e.preventDefault();
        void save.run();
      }}
    >
      <h2>Processing of {point}</h2>
      <fieldset className="plain stack" disabled={!canEdit || save.running}>
        <div className="steps">
          {steps.map((d, i) => (
            <div key={i} className="step" data-testid={`step-${i}`}>
              <span className="step-kind">
                {i + 1}. {KIND_WORDS[d.kind]}
              </span>
              <StepFields d={d} set={(patch) => setSteps(steps.map((x, j) => (j === i ? { ...x, ...patch } : x)))} />
              <span className="spacer" />
              <button type="button" onClick={() => move(i, -1)} disabled={i === 0} aria-label={`Move step ${i + 1} up`}>
                ↑
              </button>
              <button type="button" onClick={() => move(i, 1)} disabled={i === steps.length - 1} aria-label={`Move step ${i + 1} down`}>
                ↓
              </button>
              <button type="button" onClick={() => setSteps(steps.filter((_, j) => j !== i))}>
                Remove step
              </button>
            </div>
          ))}
          {!steps.length ? <p className="muted">No steps: values are stored as received.</p> : null}
        </div>
        <div className="row">
          <label>
            Step
            <select value={adding} onChange={(e) => setAdding(e.target.value as Kind)}>
              {(Object.keys(KIND_WORDS) as Kind[]).map((k) => (
                <option key={k} value={k}>
                  {KIND_WORDS[k]}
                </option>
              ))}
            </select>
          </label>
          <button type="button" onClick={() => setSteps([...steps, blank(adding)])}>
            Add step
          </button>
        </div>
        <label className="check">
          <input type="checkbox" checked={keepRaw} onChange={(e) => setKeepRaw(e.target.checked)} /> Also keep every value as received
        </label>
      </fieldset>
      <ErrorMessage error={save.error} />
      {saved && !save.error ? <p className="success">Processing saved: new values of {point} follow it.</p> : null}
      <div className="actions">
        <button type="submit" className="primary" disabled={!canEdit || save.running || (!steps.length && !policy)}>
          Save processing
        </button>
      </div>
    </form>
  );
}
