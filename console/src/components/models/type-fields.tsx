import { useEffect, useState } from 'react';
import { describeType, type TypeSpec } from '../../api/models';

/** The data types a model's features may have (schema/registry.graphql DataType). */
export const DATA_TYPES = ['INT', 'FLOAT', 'DOUBLE', 'BOOL', 'ENUM', 'STRING', 'DATE', 'TIMESTAMP', 'STRUCT', 'ARRAY', 'FILE'] as const;

const NUMERIC = new Set(['INT', 'FLOAT', 'DOUBLE']);

/** "0=Off, 1=On" as enum values. */
function parseEnumText(text: string): { key: string; label: string }[] {
  return text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      const [key = '', ...rest] = p.split('=');
      const label = rest.join('=').trim();
      return { key: key.trim(), label: label || key.trim() };
    });
}

function enumText(t: TypeSpec): string {
  return (t.enumValues ?? []).map((v) => (v.label && v.label !== v.key ? `${v.key}=${v.label}` : v.key)).join(', ');
}

function numberOrUndefined(v: string): number | undefined {
  if (v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** Drops the fields of a type that belong to another data type (when the data type changes). */
function retype(t: TypeSpec, dataType: string): TypeSpec {
  if (dataType === t.dataType) return t;
  if (dataType === 'ENUM') return { dataType, enumValues: [{ key: '0', label: '0' }] };
  if (dataType === 'STRUCT') return { dataType, members: [] };
  if (dataType === 'ARRAY') return { dataType, item: { dataType: 'DOUBLE' } };
  return { dataType };
}

/**
 * A feature's type in a form: the data type and its common details (bounds, length, enum
 * values). STRUCT members and ARRAY items are shown in words and edited in the JSON tab.
 */
export function TypeFields({ type, onChange }: { readonly type: TypeSpec; readonly onChange: (t: TypeSpec) => void }) {
  // The enum text is kept as typed (spaces, a trailing comma), and follows the type when the type
  // changes otherwise (another data type, a row removed above this one).
  const canonical = enumText(type);
  const [enumDraft, setEnumDraft] = useState(canonical);
  useEffect(() => {
    setEnumDraft((draft) => (enumText({ dataType: 'ENUM', enumValues: parseEnumText(draft) }) === canonical ? draft : canonical));
  }, [canonical]);
  const set = (patch: Partial<TypeSpec>) => {
    const next: Record<string, unknown> = { ...type, ...patch };
    for (const k of Object.keys(next)) if (next[k] === undefined) delete next[k];
    onChange(next as unknown as TypeSpec);
  };
  return (
    <>
      <label>
        Data type
        <select value={type.dataType} onChange={(e) => onChange(retype(type, e.target.value))}>
          {DATA_TYPES.map((d) => (
            <option key={d}>{d}</option>
          ))}
        </select>
      </label>
      {NUMERIC.has(type.dataType) ? (
        <>
          <label>
            Minimum
            <input type="number" step="any" value={type.min ?? ''} onChange={(e) => set({ min: numberOrUndefined(e.target.value) ?? null })} />
          </label>
          <label>
            Maximum
            <input type="number" step="any" value={type.max ?? ''} onChange={(e) => set({ max: numberOrUndefined(e.target.value) ?? null })} />
          </label>
        </>
      ) : null}
      {type.dataType === 'STRING' ? (
        <label>
          Maximum length
          <input type="number" min={1} max={4000} value={type.maxLength ?? ''} onChange={(e) => set({ maxLength: numberOrUndefined(e.target.value) ?? null })} />
        </label>
      ) : null}
      {type.dataType === 'ENUM' ? (
        <>
          <label className="wide">
            Values (key=label, separated by commas)
            <input
              value={enumDraft}
              onChange={(e) => {
                setEnumDraft(e.target.value);
                set({ enumValues: parseEnumText(e.target.value) });
              }}
              placeholder="0=Off, 1=On"
            />
          </label>
          <label>
            Keys
            <select value={type.enumType ?? 'INT'} onChange={(e) => set({ enumType: e.target.value })}>
              <option value="INT">integers</option>
              <option value="STRING">strings</option>
            </select>
          </label>
        </>
      ) : null}
      {type.dataType === 'STRUCT' || type.dataType === 'ARRAY' ? <span className="hint wide">{describeType(type)}: members and items are edited in the JSON tab.</span> : null}
    </>
  );
}

/** A type without the null fields a form leaves behind. */
export function cleanType(t: TypeSpec): TypeSpec {
  return Object.fromEntries(Object.entries(t).filter(([, v]) => v !== null && v !== undefined)) as unknown as TypeSpec;
}
