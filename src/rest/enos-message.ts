import { z } from 'zod';
import { findBadInput } from '../server/input-guard';
import { badRequest } from './envelope';

/** The integration actions (the `action` query parameter) and what each carries. */
export const INTEGRATION_ACTIONS = {
  postMeasurepoint: { payloadKey: 'measurepoints', hasTime: true, hasChannel: true },
  postAttribute: { payloadKey: 'attributes', hasTime: false, hasChannel: false },
  postEvent: { payloadKey: 'events', hasTime: true, hasChannel: true },
} as const;
export type IntegrationAction = keyof typeof INTEGRATION_ACTIONS;

/** Whether `action` names an integration action. */
export function isIntegrationAction(action: string | undefined): action is IntegrationAction {
  return action !== undefined && Object.hasOwn(INTEGRATION_ACTIONS, action);
}

/** `files` entries: every value is a string on the wire (`fileLength` too); numbers tolerated. */
const fileEntrySchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]).transform((v) => (v === null ? undefined : String(v))));

/**
 * The `enos-message` JSON (reference 2.3). `method`, `id` and `version` are accepted in any
 * form and not checked (routing is by `action`; docs misspell `method`); key order is free.
 */
const messageSchema = z.object({
  method: z.unknown().optional(),
  id: z.unknown().optional(),
  version: z.unknown().optional(),
  params: z.array(z.record(z.string(), z.unknown()), { error: 'params must be an array of objects' }),
  files: z.record(z.string(), fileEntrySchema).nullish(),
  isRealtimeIntegration: z
    .union([z.boolean(), z.enum(['true', 'false'])])
    .nullish()
    .transform((v) => v !== false && v !== 'false'),
});

/** A parsed `enos-message`. */
export interface EnosMessage {
  readonly params: readonly Readonly<Record<string, unknown>>[];
  readonly files: Readonly<Record<string, Readonly<Record<string, string | undefined>>>>;
  readonly realtime: boolean;
}

/** Parses and structurally checks the `enos-message` text; 99400 on anything malformed. */
export function parseEnosMessage(text: string): EnosMessage {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw badRequest('the enos-message part is not valid JSON');
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw badRequest('the enos-message part must be a JSON object');
  // Before any recursive walk of the payload (and before text reaches PostgreSQL).
  const bad = findBadInput(json, 'enos-message');
  if (bad) throw badRequest(`invalid enos-message: ${bad}`);
  const parsed = messageSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw badRequest(`invalid enos-message: ${issue ? `${issue.path.join('.') || 'message'}: ${issue.message}` : 'malformed'}`);
  }
  return { params: parsed.data.params, files: parsed.data.files ?? {}, realtime: parsed.data.isRealtimeIntegration };
}

/** The device of a `params` item as GraphQL input: assetId, or productKey + deviceKey. */
export function deviceOfItem(item: Readonly<Record<string, unknown>>, index: number): { assetId: string; productKey?: string; deviceKey?: string } | { productKey: string; deviceKey: string } {
  const text = (v: unknown) => (typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '');
  const assetId = text(item['assetId']);
  const productKey = text(item['productKey']);
  const deviceKey = text(item['deviceKey']);
  // Keys given beside an assetId go along: ingest refuses an item whose names disagree.
  if (assetId) return { assetId, ...(productKey ? { productKey } : {}), ...(deviceKey ? { deviceKey } : {}) };
  if (productKey && deviceKey) return { productKey, deviceKey };
  throw badRequest(`params[${index}]: give assetId, or productKey and deviceKey`);
}

/**
 * Every `local://<name>` string in a payload, at any depth (top-level values, struct members,
 * event parameters, array items). Used only to find file parts nothing refers to; whether a
 * reference is valid for its feature is the ingest mutation's decision.
 */
export function collectLocalRefs(value: unknown, into: Set<string>): Set<string> {
  // Iterative: the payload's depth is the client's choice.
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (v.startsWith('local://')) into.add(v.slice('local://'.length));
    } else if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
    } else if (v && typeof v === 'object') {
      for (const x of Object.values(v)) stack.push(x);
    }
  }
  return into;
}
