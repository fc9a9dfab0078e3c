import { useEffect, useState } from 'react';
import { useLocation, useParams } from 'wouter';
import { gql } from '../api/client';
import { can, canEverywhere } from '../api/permissions';
import { useSession } from '../api/session-store';
import { useAction, useApi } from '../api/use-api';
import { ConfirmButton } from '../components/confirm-button';
import { ErrorMessage, Loading, NotAllowed } from '../components/error-message';

interface ProductForm {
  productKey: string;
  name: string;
  description: string;
  modelIdentifier: string;
  dataFormat: 'JSON' | 'CUSTOM';
}

const EMPTY: ProductForm = { productKey: '', name: '', description: '', modelIdentifier: '', dataFormat: 'JSON' };

const LOAD = `query ProductForm($productKey: ID!, $edit: Boolean!) {
  thingModels(first: 200) { edges { node { identifier name } } }
  product(productKey: $productKey) @include(if: $edit) { productKey name description dataFormat model { identifier } }
}`;

/** Creates a product (/products/new) or edits one (/products/:productKey/edit). */
export function ProductEditPage() {
  const params = useParams<{ productKey?: string }>();
  const editing = params.productKey !== undefined;
  const [, navigate] = useLocation();
  const grants = useSession().me.serviceAccount.grants;
  const allowed = editing ? can(grants, 'REGISTRY_FULL', { productKey: params.productKey ?? '' }) : canEverywhere(grants, 'REGISTRY_FULL');
  const [form, setForm] = useState<ProductForm>(EMPTY);
  const loaded = useApi(
    (signal) =>
      gql<{ thingModels: { edges: { node: { identifier: string; name: string } }[] }; product?: { productKey: string; name: string; description: string; dataFormat: 'JSON' | 'CUSTOM'; model: { identifier: string } } | null }>(
        LOAD,
        { productKey: params.productKey ?? '', edit: editing },
        { signal },
      ),
    [params.productKey],
  );
  useEffect(() => {
    const p = loaded.data?.product;
    if (p) setForm({ productKey: p.productKey, name: p.name, description: p.description, modelIdentifier: p.model.identifier, dataFormat: p.dataFormat });
    else if (!editing && loaded.data && !form.modelIdentifier) setForm((f) => ({ ...f, modelIdentifier: loaded.data?.thingModels.edges[0]?.node.identifier ?? '' }));
  }, [loaded.data]);
  const save = useAction(async () => {
    const input = { name: form.name, description: form.description, modelIdentifier: form.modelIdentifier, dataFormat: form.dataFormat };
    if (editing) await gql(`mutation ($pk: ID!, $input: UpdateProductInput!) { updateProduct(productKey: $pk, input: $input) { productKey } }`, { pk: params.productKey, input });
    else await gql(`mutation ($input: CreateProductInput!) { createProduct(input: $input) { productKey } }`, { input: { ...input, ...(form.productKey ? { productKey: form.productKey } : {}) } });
    navigate('/products');
  });
  const remove = useAction(async () => {
    await gql(`mutation ($pk: ID!) { deleteProduct(productKey: $pk) }`, { pk: params.productKey });
    navigate('/products');
  });
  const set = <K extends keyof ProductForm>(k: K, v: ProductForm[K]) => setForm((f) => ({ ...f, [k]: v }));
  if (editing && loaded.data && !loaded.data.product) return <NotAllowed>This product does not exist, or this service account cannot see it.</NotAllowed>;
  const models = loaded.data?.thingModels.edges.map((e) => e.node) ?? [];
  return (
    <section>
      <h1>{editing ? `Product ${params.productKey}` : 'New product'}</h1>
      {!allowed ? <NotAllowed>This service account may only look: {editing ? 'changing this product' : 'creating products'} needs REGISTRY_FULL{editing ? ' on it' : ' on the whole organisation'}.</NotAllowed> : null}
      <ErrorMessage error={loaded.error} />
      {loaded.loading && !loaded.data ? <Loading /> : null}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save.run();
        }}
      >
        <fieldset disabled={!allowed || save.running} className="form plain">
          <label>
            Product key
            <input value={form.productKey} onChange={(e) => set('productKey', e.target.value)} disabled={editing} placeholder="generated when empty" pattern="[A-Za-z0-9_.\-]{4,64}" title="4 to 64 letters, digits, dots, dashes or underscores" />
          </label>
          <label>
            Name
            <input value={form.name} onChange={(e) => set('name', e.target.value)} required />
          </label>
          <label>
            Thing model
            <select value={form.modelIdentifier} onChange={(e) => set('modelIdentifier', e.target.value)} required>
              {models.length === 0 ? <option value="">No thing models yet</option> : null}
              {models.map((m) => (
                <option key={m.identifier} value={m.identifier}>
                  {m.name} ({m.identifier})
                </option>
              ))}
            </select>
          </label>
          <label>
            Data format
            <select value={form.dataFormat} onChange={(e) => set('dataFormat', e.target.value as ProductForm['dataFormat'])}>
              <option value="JSON">JSON</option>
              <option value="CUSTOM">Custom</option>
            </select>
          </label>
          <label className="wide">
            Description
            <input value={form.description} onChange={(e) => set('description', e.target.value)} />
          </label>
        </fieldset>
        <ErrorMessage error={save.error ?? remove.error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={!allowed || save.running || !form.name || !form.modelIdentifier}>
            {editing ? 'Save' : 'Create product'}
          </button>
          <button type="button" onClick={() => navigate('/products')}>
            Cancel
          </button>
          <span className="spacer" />
          {editing && allowed ? <ConfirmButton label="Delete product" confirmLabel="Really delete the product?" onConfirm={() => void remove.run()} /> : null}
        </div>
      </form>
    </section>
  );
}
