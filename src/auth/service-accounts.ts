import { and, asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { badInput, conflict, notFound, translatePgError } from '../errors';
import type { DbOrTx } from '../storage/db';
import { organisations, serviceAccounts } from '../storage/schema/index';
import { checkGrantScopes } from './grant-scopes';
import { PERMISSIONS, type Grant } from './permissions';
import { randomHex, type SecretBox } from './secret-box';

/** A service account as shown to admins (never with its secret). */
export interface ServiceAccountView {
  readonly id: number;
  readonly orgId: string;
  readonly accessKey: string;
  readonly name: string;
  readonly grants: readonly Grant[];
  readonly enabled: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** Grants as accepted on input. */
export const grantSchema = z.object({
  permission: z.enum(PERMISSIONS),
  productKeys: z.array(z.string().min(1).max(64)).max(1000).nullish(),
  assetIds: z.array(z.string().min(1).max(64)).max(10000).nullish(),
});

/** Validates and normalises grants (empty scope lists mean "all devices"). */
export function parseGrants(input: unknown): Grant[] {
  const parsed = z.array(grantSchema).min(1, 'at least one grant is required').max(50).safeParse(input);
  if (!parsed.success) throw badInput(`invalid grants: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data.map((g) => {
    const out: { permission: Grant['permission']; productKeys?: string[]; assetIds?: string[] } = { permission: g.permission };
    if (g.productKeys?.length) out.productKeys = [...new Set(g.productKeys)];
    if (g.assetIds?.length) out.assetIds = [...new Set(g.assetIds)];
    return out;
  });
}

const ORG_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** Creates an organisation; the id is generated (`o` + 14 digits, EnOS style) unless given. */
export async function createOrganisation(db: DbOrTx, input: { id?: string | undefined; name: string }): Promise<{ id: string; name: string; createdAt: Date }> {
  const id = input.id ?? `o${Date.now().toString().slice(-8)}${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
  if (!ORG_ID_RE.test(id)) throw badInput('organisation id must be 1-64 characters of [A-Za-z0-9_-]');
  if (!input.name.trim()) throw badInput('organisation name is required');
  try {
    const [row] = await db.insert(organisations).values({ id, name: input.name.trim() }).returning();
    return row!;
  } catch (e) {
    return translatePgError(e, `organisation ${id}`);
  }
}

/** Whether organisation `orgId` exists (CLI only: the API always acts in the caller's own). */
export async function organisationExists(db: DbOrTx, orgId: string): Promise<boolean> {
  const [row] = await db.select({ id: organisations.id }).from(organisations).where(eq(organisations.id, orgId));
  return !!row;
}

/** Lists organisations (CLI only). */
export async function listOrganisations(db: DbOrTx) {
  return db.select().from(organisations).orderBy(asc(organisations.createdAt));
}

function view(r: typeof serviceAccounts.$inferSelect): ServiceAccountView {
  return { id: r.id, orgId: r.orgId, accessKey: r.accessKey, name: r.name, grants: r.grants as Grant[], enabled: r.enabled, createdAt: r.createdAt, updatedAt: r.updatedAt };
}

/** Creates a service account; the secret is returned once and stored only encrypted. */
export async function createServiceAccount(
  db: DbOrTx,
  box: SecretBox,
  input: { orgId: string; name: string; grants: unknown },
): Promise<{ serviceAccount: ServiceAccountView; secretKey: string }> {
  const grants = parseGrants(input.grants);
  const name = input.name.trim();
  if (!name || name.length > 128) throw badInput('service account name must be 1-128 characters');
  const [org] = await db.select({ id: organisations.id }).from(organisations).where(eq(organisations.id, input.orgId));
  if (!org) throw notFound('organisation', { orgId: input.orgId });
  await checkGrantScopes(db, input.orgId, grants);
  const accessKey = `ak-${randomHex(12)}`;
  const secretKey = `sk-${randomHex(24)}`;
  const [row] = await db.insert(serviceAccounts).values({ orgId: input.orgId, accessKey, name, secretEnc: box.seal(secretKey), grants }).returning();
  return { serviceAccount: view(row!), secretKey };
}

/** Lists an organisation's service accounts. */
export async function listServiceAccounts(db: DbOrTx, orgId: string): Promise<ServiceAccountView[]> {
  const rows = await db.select().from(serviceAccounts).where(eq(serviceAccounts.orgId, orgId)).orderBy(asc(serviceAccounts.id));
  return rows.map(view);
}

/** One service account of the organisation, or NOT_FOUND. */
export async function getServiceAccount(db: DbOrTx, orgId: string, accessKey: string): Promise<ServiceAccountView> {
  const [row] = await db.select().from(serviceAccounts).where(and(eq(serviceAccounts.orgId, orgId), eq(serviceAccounts.accessKey, accessKey)));
  if (!row) throw notFound('service account', { accessKey });
  return view(row);
}

/** Enables or disables a service account; disabling revokes its tokens at once (epoch bump). */
export async function setServiceAccountEnabled(db: DbOrTx, orgId: string, accessKey: string, enabled: boolean): Promise<ServiceAccountView> {
  const [row] = await db
    .update(serviceAccounts)
    .set({ enabled, updatedAt: new Date(), ...(enabled ? {} : { epoch: sql`${serviceAccounts.epoch} + 1` }) })
    .where(and(eq(serviceAccounts.orgId, orgId), eq(serviceAccounts.accessKey, accessKey)))
    .returning();
  if (!row) throw notFound('service account', { accessKey });
  return view(row);
}

/** Replaces the grants of a service account. */
export async function updateServiceAccountGrants(db: DbOrTx, orgId: string, accessKey: string, grantsInput: unknown): Promise<ServiceAccountView> {
  const grants = parseGrants(grantsInput);
  await checkGrantScopes(db, orgId, grants);
  const [row] = await db
    .update(serviceAccounts)
    .set({ grants, updatedAt: new Date() })
    .where(and(eq(serviceAccounts.orgId, orgId), eq(serviceAccounts.accessKey, accessKey)))
    .returning();
  if (!row) throw notFound('service account', { accessKey });
  return view(row);
}

/** Issues a new secret and revokes every token signed with the old one. */
export async function rotateServiceAccountSecret(db: DbOrTx, box: SecretBox, orgId: string, accessKey: string): Promise<{ serviceAccount: ServiceAccountView; secretKey: string }> {
  const secretKey = `sk-${randomHex(24)}`;
  const [row] = await db
    .update(serviceAccounts)
    .set({ secretEnc: box.seal(secretKey), epoch: sql`${serviceAccounts.epoch} + 1`, updatedAt: new Date() })
    .where(and(eq(serviceAccounts.orgId, orgId), eq(serviceAccounts.accessKey, accessKey)))
    .returning();
  if (!row) throw notFound('service account', { accessKey });
  return { serviceAccount: view(row), secretKey };
}

/** Deletes a service account and, by cascade, its tokens. Refuses to delete the caller's own SA. */
export async function deleteServiceAccount(db: DbOrTx, orgId: string, accessKey: string, callerAccessKey?: string): Promise<boolean> {
  if (callerAccessKey === accessKey) throw conflict('a service account cannot delete itself');
  const rows = await db
    .delete(serviceAccounts)
    .where(and(eq(serviceAccounts.orgId, orgId), eq(serviceAccounts.accessKey, accessKey)))
    .returning({ id: serviceAccounts.id });
  if (!rows.length) throw notFound('service account', { accessKey });
  return true;
}
