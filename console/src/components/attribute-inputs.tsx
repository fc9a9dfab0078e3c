/** Inputs for a thing model's attributes, each fit to its type, and the parsing of what was typed. */

/** An attribute as the model defines it. */
export interface AttributeDef {
  readonly identifier: string;
  readonly name: string;
  readonly unit: string | null;
  readonly required: boolean;
  readonly type: { readonly dataType: string; readonly enumType: string | null; readonly enumValues: readonly { readonly key: string; readonly label: string }[] | null };
}

/** GraphQL selection of AttributeDef. */
export const ATTRIBUTE_DEF_FIELDS = 'identifier name unit required type { dataType enumType enumValues { key label } }';

/** What the form holds for a value (text as typed). */
export function toText(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The value to send for `text`, or undefined when left empty; throws a readable Error when it does not parse. */
export function parseAttributeValue(def: AttributeDef, text: string): unknown {
  const t = text.trim();
  if (t === '') return undefined;
  switch (def.type.dataType) {
    case 'INT':
    case 'FLOAT':
    case 'DOUBLE':
    case 'TIMESTAMP': {
      const n = Number(t);
      if (!Number.isFinite(n)) throw new Error(`${def.identifier}: "${t}" is not a number`);
      return n;
    }
    case 'BOOL':
      return t === 'true';
    case 'ENUM':
      return def.type.enumType === 'STRING' ? t : Number(t);
    case 'STRING':
    case 'DATE':
    case 'FILE':
      return t;
    default:
      try {
        return JSON.parse(t) as unknown;
      } catch {
        throw new Error(`${def.identifier}: not valid JSON`);
      }
  }
}

/** One input per attribute. */
export function AttributeInputs({ defs, values, onChange }: { readonly defs: readonly AttributeDef[]; readonly values: Readonly<Record<string, string>>; readonly onChange: (identifier: string, text: string) => void }) {
  return (
    <>
      {defs.map((d) => {
        const value = values[d.identifier] ?? '';
        const label = `${d.name || d.identifier}${d.unit ? ` (${d.unit})` : ''}${d.required ? ' *' : ''}`;
        if (d.type.dataType === 'BOOL' || d.type.dataType === 'ENUM') {
          const options = d.type.dataType === 'BOOL' ? [{ key: 'true', label: 'true' }, { key: 'false', label: 'false' }] : (d.type.enumValues ?? []);
          return (
            <label key={d.identifier}>
              {label}
              <select value={value} onChange={(e) => onChange(d.identifier, e.target.value)}>
                <option value="">—</option>
                {options.map((o) => (
                  <option key={o.key} value={o.key}>
                    {o.label}
                  </option>
                ))}
              </select>
            </label>
          );
        }
        return (
          <label key={d.identifier}>
            {label}
            <input value={value} onChange={(e) => onChange(d.identifier, e.target.value)} placeholder={d.type.dataType.toLowerCase()} />
          </label>
        );
      })}
    </>
  );
}
