import type { FeatureDoc, FeatureList, Member, ModelDocument } from '../../api/models';
import { describeType } from '../../api/models';
import { TypeFields } from './type-fields';

const TITLES: Readonly<Record<FeatureList, { readonly title: string; readonly one: string }>> = {
  measurePoints: { title: 'Measure points', one: 'measure point' },
  attributes: { title: 'Attributes', one: 'attribute' },
  events: { title: 'Events', one: 'event' },
  services: { title: 'Services', one: 'service' },
};

const ORDER: readonly FeatureList[] = ['measurePoints', 'attributes', 'events', 'services'];

function blank(list: FeatureList): FeatureDoc {
  switch (list) {
    case 'measurePoints':
      return { identifier: '', type: { dataType: 'DOUBLE' } };
    case 'attributes':
      return { identifier: '', type: { dataType: 'STRING' } };
    case 'events':
      return { identifier: '', level: 'INFO' };
    case 'services':
      return { identifier: '' };
    default: {
      const never: never = list;
      return never;
    }
  }
}

function paramsText(members: readonly Member[] | undefined): string {
  return members?.length ? members.map((m) => `${m.identifier}: ${describeType(m.type)}`).join('; ') : 'none';
}

/** One feature's fields; what its kind has. */
function FeatureFields({ list, f, onChange, onRemove, index }: { readonly list: FeatureList; readonly f: FeatureDoc; readonly onChange: (f: FeatureDoc) => void; readonly onRemove: () => void; readonly index: number }) {
  const set = (patch: Partial<FeatureDoc>) => onChange({ ...f, ...patch });
  return (
    <div className="feature-row" data-testid={`${list}-${index}`}>
      <label>
        Identifier
        <input value={f.identifier} onChange={(e) => set({ identifier: e.target.value })} required pattern="[A-Za-z0-9_.\-]{1,128}" title="1 to 128 letters, digits, dots, dashes or underscores" />
      </label>
      <label>
        Name
        <input value={f.name ?? ''} onChange={(e) => set({ name: e.target.value })} placeholder={f.identifier} />
      </label>
      {list === 'measurePoints' || list === 'attributes' ? (
        <>
          <TypeFields type={f.type ?? { dataType: 'DOUBLE' }} onChange={(type) => set({ type })} />
          <label>
            Unit
            <input value={f.unit ?? ''} onChange={(e) => set({ unit: e.target.value })} placeholder="e.g. kW" />
          </label>
        </>
      ) : null}
      {list === 'measurePoints' ? (
        <>
          <label>
            Signal
            <select value={f.signalType ?? 'GENERIC'} onChange={(e) => set({ signalType: e.target.value })}>
              {['GENERIC', 'AI', 'DI', 'PI'].map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <label className="check">
            <input type="checkbox" checked={!!f.hasQuality} onChange={(e) => set({ hasQuality: e.target.checked })} /> With quality
          </label>
        </>
      ) : null}
      {list === 'attributes' ? (
        <label className="check">
          <input type="checkbox" checked={!!f.required} onChange={(e) => set({ required: e.target.checked })} /> Required
        </label>
      ) : null}
      {list === 'events' ? (
        <>
          <label>
            Level
            <select value={f.level ?? 'INFO'} onChange={(e) => set({ level: e.target.value })}>
              {['INFO', 'WARN', 'ERROR'].map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <span className="hint wide">Output parameters: {paramsText(f.outputData)} (edited in the JSON tab).</span>
        </>
      ) : null}
      {list === 'services' ? (
        <span className="hint wide">
          Input: {paramsText(f.inputData)}; output: {paramsText(f.outputData)} (edited in the JSON tab).
        </span>
      ) : null}
      <label className="wide">
        Description
        <input value={f.description ?? ''} onChange={(e) => set({ description: e.target.value })} />
      </label>
      <div>
        <button type="button" onClick={onRemove}>
          Remove {TITLES[list].one}
        </button>
      </div>
    </div>
  );
}

/** A thing model in a form: identifier, name, description and every feature. */
export function ModelForm({ doc, onChange, editing }: { readonly doc: ModelDocument; readonly onChange: (d: ModelDocument) => void; readonly editing: boolean }) {
  const setList = (list: FeatureList, features: FeatureDoc[]) => onChange({ ...doc, [list]: features });
  return (
    <div>
      <div className="form">
        <label>
          Identifier
          <input value={doc.identifier} onChange={(e) => onChange({ ...doc, identifier: e.target.value })} disabled={editing} required pattern="[A-Za-z0-9_.\-]{1,128}" title="1 to 128 letters, digits, dots, dashes or underscores" />
        </label>
        <label>
          Model name
          <input value={doc.name} onChange={(e) => onChange({ ...doc, name: e.target.value })} required />
        </label>
        <label className="wide">
          Model description
          <input value={doc.description ?? ''} onChange={(e) => onChange({ ...doc, description: e.target.value })} />
        </label>
      </div>
      {ORDER.map((list) => {
        const features = doc[list] ?? [];
        return (
          <div key={list} className="section">
            <h2>{TITLES[list].title}</h2>
            <div className="feature-list">
              {features.map((f, i) => (
                <FeatureFields key={i} index={i} list={list} f={f} onChange={(nf) => setList(list, features.map((x, j) => (j === i ? nf : x)))} onRemove={() => setList(list, features.filter((_, j) => j !== i))} />
              ))}
            </div>
            <button type="button" onClick={() => setList(list, [...features, blank(list)])}>
              Add {TITLES[list].one}
            </button>
          </div>
        );
      })}
    </div>
  );
}
