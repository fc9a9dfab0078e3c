import type { Grant, Permission } from '../../api/permissions';
import type { GrantInput } from '../../api/service-accounts';
import { KeyPicker } from './key-picker';

/** The permissions the API offers, with what each allows (schema/auth.graphql). */
export const PERMISSION_WORDS: readonly { readonly permission: Permission; readonly words: string }[] = [
  { permission: 'ASSET_READ', words: 'read device data: latest values, history, events, files, live streams' },
  { permission: 'ASSET_WRITE', words: 'write device data: send values, delete files' },
  { permission: 'REGISTRY_READ', words: 'see thing models, products, devices and policies' },
  { permission: 'REGISTRY_FULL', words: 'create, change and delete models, products, devices and policies' },
  { permission: 'ORG_ADMIN', words: 'manage service accounts and subscription jobs' },
];

/** Where a grant reaches. */
export type Scope = 'all' | 'products' | 'devices' | 'both';

/** A grant being edited. */
export interface GrantDraft {
  readonly permission: Permission;
  readonly scope: Scope;
  readonly productKeys: readonly string[];
  readonly assetIds: readonly string[];
}

/** The draft of an existing grant. */
export function toDraft(g: Grant): GrantDraft {
  const p = g.productKeys ?? [];
  const a = g.assetIds ?? [];
  return { permission: g.permission, scope: p.length && a.length ? 'both' : p.length ? 'products' : a.length ? 'devices' : 'all', productKeys: p, assetIds: a };
}

/** A new grant: ASSET_READ on the whole organisation. */
export const NEW_GRANT: GrantDraft = { permission: 'ASSET_READ', scope: 'all', productKeys: [], assetIds: [] };

/** What is wrong with the drafts, in words; null when they can be sent. */
export function checkDrafts(drafts: readonly GrantDraft[]): string | null {
  if (!drafts.length) return 'Give the account at least one grant.';
  for (const [i, d] of drafts.entries()) {
    if (d.permission === 'ORG_ADMIN') continue;
    if ((d.scope === 'products' || d.scope === 'both') && !d.productKeys.length) return `Grant ${i + 1}: choose at least one product.`;
    if ((d.scope === 'devices' || d.scope === 'both') && !d.assetIds.length) return `Grant ${i + 1}: choose at least one device.`;
  }
  return null;
}

/** The drafts as the API takes them. */
export function toGrantInputs(drafts: readonly GrantDraft[]): GrantInput[] {
  return drafts.map((d) => {
    // NOTE: ORG_ADMIN is organisation-wide; a scope left from another permission is not sent.
    if (d.permission === 'ORG_ADMIN') return { permission: d.permission };
    return {
      permission: d.permission,
      ...(d.scope === 'products' || d.scope === 'both' ? { productKeys: d.productKeys } : {}),
      ...(d.scope === 'devices' || d.scope === 'both' ? { assetIds: d.assetIds } : {}),
    };
  });
}

const SCOPES: readonly { readonly scope: Scope; readonly words: string }[] = [
  { scope: 'all', words: 'Whole organisation' },
  { scope: 'products', words: 'Some products' },
  { scope: 'devices', words: 'Some devices' },
  { scope: 'both', words: 'Some products and devices' },
];

/** Where one grant reaches: the whole organisation, or chosen products and/or devices. */
function ScopeFields({ d, i, set }: { readonly d: GrantDraft; readonly i: number; readonly set: (patch: Partial<GrantDraft>) => void }) {
  return (
    <>
      <div className="scope-choice" role="radiogroup" aria-label={`Scope of grant ${i + 1}`}>
        {SCOPES.map((s) => (
          <label key={s.scope} className="check">
            <input type="radio" name={`scope-${i}`} checked={d.scope === s.scope} onChange={() => set({ scope: s.scope })} />
            {s.words}
          </label>
        ))}
      </div>
      {d.scope === 'products' || d.scope === 'both' ? <KeyPicker kind="products" selected={d.productKeys} onChange={(k) => set({ productKeys: k })} testId={`product-picker-${i}`} /> : null}
      {d.scope === 'devices' || d.scope === 'both' ? <KeyPicker kind="devices" selected={d.assetIds} onChange={(k) => set({ assetIds: k })} testId={`device-picker-${i}`} /> : null}
    </>
  );
}

/** Edits a list of grants: a permission each, over the whole organisation or chosen products and devices. */
export function GrantEditor({ drafts, onChange }: { readonly drafts: readonly GrantDraft[]; readonly onChange: (drafts: GrantDraft[]) => void }) {
  const set = (i: number, patch: Partial<GrantDraft>) => onChange(drafts.map((d, j) => (j === i ? { ...d, ...patch } : d)));
  return (
    <div className="stack grant-editor">
      {drafts.map((d, i) => (
        <fieldset key={i} className="card grant" data-testid={`grant-${i}`}>
          <legend>Grant {i + 1}</legend>
          <div className="row">
            <label>
              Permission
              <select value={d.permission} onChange={(e) => set(i, { permission: e.target.value as Permission })}>
                {PERMISSION_WORDS.map((p) => (
                  <option key={p.permission} value={p.permission}>
                    {p.permission}
                  </option>
                ))}
              </select>
            </label>
            <span className="hint grant-words">{PERMISSION_WORDS.find((p) => p.permission === d.permission)?.words}</span>
            <span className="spacer" />
            <button type="button" onClick={() => onChange(drafts.filter((_, j) => j !== i))} disabled={drafts.length === 1} title={drafts.length === 1 ? 'An account needs at least one grant' : undefined}>
              Remove grant
            </button>
          </div>
          {d.permission === 'ORG_ADMIN' ? (
            <p className="hint">ORG_ADMIN covers the whole organisation: service accounts are not tied to products or devices.</p>
          ) : (
            <ScopeFields d={d} i={i} set={(patch) => set(i, patch)} />
          )}
        </fieldset>
      ))}
      <div>
        <button type="button" onClick={() => onChange([...drafts, NEW_GRANT])} disabled={drafts.length >= 50}>
          Add a grant
        </button>
      </div>
    </div>
  );
}
