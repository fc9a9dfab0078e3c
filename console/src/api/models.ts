import { gql } from './client';

/**
 * Thing models through the public API: reading needs REGISTRY_READ, changing REGISTRY_FULL.
 * A model's `document` is the JSON that createThingModel, updateThingModel and
 * importThingModel accept, so the console edits and exchanges that one shape.
 */

/** A value's type (schema/registry.graphql TypeSpec), as read. */
export interface TypeSpec {
  readonly dataType: string;
  readonly enumValues?: readonly { readonly key: string; readonly label: string }[] | null;
  readonly enumType?: string | null;
  readonly maxLength?: number | null;
  readonly min?: number | null;
  readonly max?: number | null;
  readonly members?: readonly Member[] | null;
  readonly item?: TypeSpec | null;
  readonly maxItems?: number | null;
}

/** A STRUCT member or an event/service parameter. */
export interface Member {
  readonly identifier: string;
  readonly name?: string;
  readonly type: TypeSpec;
  readonly unit?: string | null;
  readonly required?: boolean;
}

/** A feature of a model as the document holds it (optional fields may be missing). */
export interface FeatureDoc {
  identifier: string;
  name?: string;
  description?: string;
  type?: TypeSpec;
  unit?: string;
  required?: boolean;
  hasQuality?: boolean;
  signalType?: string;
  level?: string;
  outputData?: Member[];
  inputData?: Member[];
}

/** A model document: what export gives and import, create and update take. */
export interface ModelDocument {
  identifier: string;
  name: string;
  description?: string;
  attributes?: FeatureDoc[];
  measurePoints?: FeatureDoc[];
  events?: FeatureDoc[];
  services?: FeatureDoc[];
}

/** The four kinds of feature, as the document's lists name them. */
export const FEATURE_LISTS = ['attributes', 'measurePoints', 'events', 'services'] as const;
/** One of FEATURE_LISTS. */
export type FeatureList = (typeof FEATURE_LISTS)[number];

/** A model in the list. */
export interface ModelRow {
  readonly identifier: string;
  readonly name: string;
  readonly description: string;
  readonly version: number;
  readonly updatedAt: string;
  readonly attributes: readonly unknown[];
  readonly measurePoints: readonly unknown[];
  readonly events: readonly unknown[];
  readonly services: readonly unknown[];
}

/** A model with its document. */
export interface ModelWithDocument {
  readonly identifier: string;
  readonly name: string;
  readonly description: string;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly document: ModelDocument;
}

/** A model's document and metadata; null when it does not exist or cannot be seen. */
export async function getModel(identifier: string, signal?: AbortSignal): Promise<ModelWithDocument | null> {
  const q = `query ($id: ID!) { thingModel(identifier: $id) { identifier name description version createdAt updatedAt document } }`;
  try {
    return (await gql<{ thingModel: ModelWithDocument | null }>(q, { id: identifier }, signal ? { signal } : {})).thingModel;
  } catch (e) {
    if ((e as { code?: string }).code === 'NOT_FOUND') return null;
    throw e;
  }
}

/** A copy of a JSON value without null or undefined object fields (at any depth). */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).flatMap(([k, x]) => (x === null || x === undefined ? [] : [[k, withoutNulls(x)]])));
  return v;
}

/** Removes a model document's empty parts, as the server's export leaves them out. */
export function tidyDocument(doc: ModelDocument): ModelDocument {
  const out: ModelDocument = { identifier: doc.identifier.trim(), name: doc.name };
  if (doc.description) out.description = doc.description;
  for (const list of FEATURE_LISTS) {
    const features = doc[list];
    if (features?.length) out[list] = features.map((f) => withoutNulls(Object.fromEntries(Object.entries(f).filter(([, v]) => v !== '' && !(Array.isArray(v) && !v.length)))) as FeatureDoc);
  }
  return out;
}

/** Creates a model from a document. */
export async function createModel(doc: ModelDocument): Promise<string> {
  return (await gql<{ createThingModel: { identifier: string } }>(`mutation ($input: ThingModelInput!) { createThingModel(input: $input) { identifier } }`, { input: tidyDocument(doc) })).createThingModel.identifier;
}

/** Replaces a model's definition. */
export async function updateModel(identifier: string, doc: ModelDocument): Promise<string> {
  const q = `mutation ($id: ID!, $input: ThingModelInput!) { updateThingModel(identifier: $id, input: $input) { identifier } }`;
  return (await gql<{ updateThingModel: { identifier: string } }>(q, { id: identifier, input: tidyDocument(doc) })).updateThingModel.identifier;
}

/** Imports an exported document; with `replace`, an existing model of that identifier is updated. */
export async function importModel(document: unknown, replace: boolean): Promise<string> {
  const q = `mutation ($doc: JSON!, $replace: Boolean) { importThingModel(document: $doc, replace: $replace) { identifier } }`;
  return (await gql<{ importThingModel: { identifier: string } }>(q, { doc: document, replace })).importThingModel.identifier;
}

/** The export document of a model. */
export async function exportModel(identifier: string): Promise<ModelDocument> {
  return (await gql<{ exportThingModel: ModelDocument }>(`query ($id: ID!) { exportThingModel(identifier: $id) }`, { id: identifier })).exportThingModel;
}

/** Deletes a model (refused while products use it). */
export async function deleteModel(identifier: string): Promise<boolean> {
  return (await gql<{ deleteThingModel: boolean }>(`mutation ($id: ID!) { deleteThingModel(identifier: $id) }`, { id: identifier })).deleteThingModel;
}

/** A type in words: "DOUBLE 0…100", "ENUM (0 Off, 1 On)", "ARRAY of INT (≤ 10)". */
export function describeType(t: TypeSpec | undefined | null): string {
  if (!t) return '—';
  switch (t.dataType) {
    case 'INT':
    case 'FLOAT':
    case 'DOUBLE': {
      const hasMin = t.min !== null && t.min !== undefined;
      const hasMax = t.max !== null && t.max !== undefined;
      if (!hasMin && !hasMax) return t.dataType;
      return `${t.dataType} ${hasMin ? t.min : '−∞'} … ${hasMax ? t.max : '∞'}`;
    }
    case 'ENUM':
      return `ENUM (${(t.enumValues ?? []).map((v) => (v.label && v.label !== v.key ? `${v.key} ${v.label}` : v.key)).join(', ')})`;
    case 'STRING':
      return t.maxLength ? `STRING (≤ ${t.maxLength} chars)` : 'STRING';
    case 'STRUCT':
      return `STRUCT { ${(t.members ?? []).map((m) => `${m.identifier}: ${describeType(m.type)}`).join('; ')} }`;
    case 'ARRAY':
      return `ARRAY of ${describeType(t.item)}${t.maxItems ? ` (≤ ${t.maxItems})` : ''}`;
    default:
      return t.dataType;
  }
}
