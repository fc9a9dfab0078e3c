import { gql } from './client';
import type { Grant, Permission } from './permissions';

/**
 * Service accounts (applications) through the public API; every operation needs ORG_ADMIN.
 * The SecretKey comes back only from createServiceAccount and rotateServiceAccountSecret.
 */

/** A service account as `serviceAccounts` lists it. */
export interface ServiceAccountRow {
  readonly accessKey: string;
  readonly name: string;
  readonly enabled: boolean;
  readonly grants: readonly Grant[];
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A grant to send: a permission, optionally limited to products and/or devices. */
export interface GrantInput {
  readonly permission: Permission;
  readonly productKeys?: readonly string[];
  readonly assetIds?: readonly string[];
}

/** The keys of an account, returned once. */
export interface Credentials {
  readonly accessKey: string;
  readonly secretKey: string;
  readonly serviceAccount: ServiceAccountRow;
}

const SA_FIELDS = 'accessKey name enabled createdAt updatedAt grants { permission productKeys assetIds }';

/** Every service account of the organisation. */
export async function listServiceAccounts(signal?: AbortSignal): Promise<ServiceAccountRow[]> {
  return (await gql<{ serviceAccounts: ServiceAccountRow[] }>(`{ serviceAccounts { ${SA_FIELDS} } }`, {}, signal ? { signal } : {})).serviceAccounts;
}

/** Registers an application: a new service account and its keys. */
export async function createServiceAccount(name: string, grants: readonly GrantInput[]): Promise<Credentials> {
  const q = `mutation ($name: String!, $grants: [GrantInput!]!) { createServiceAccount(name: $name, grants: $grants) { accessKey secretKey serviceAccount { ${SA_FIELDS} } } }`;
  return (await gql<{ createServiceAccount: Credentials }>(q, { name, grants })).createServiceAccount;
}

/** Replaces every grant of an account. */
export async function updateGrants(accessKey: string, grants: readonly GrantInput[]): Promise<ServiceAccountRow> {
  const q = `mutation ($ak: ID!, $grants: [GrantInput!]!) { updateServiceAccountGrants(accessKey: $ak, grants: $grants) { ${SA_FIELDS} } }`;
  return (await gql<{ updateServiceAccountGrants: ServiceAccountRow }>(q, { ak: accessKey, grants })).updateServiceAccountGrants;
}

/** Disables or enables an account. */
export async function setEnabled(accessKey: string, enabled: boolean): Promise<ServiceAccountRow> {
  const op = enabled ? 'enableServiceAccount' : 'disableServiceAccount';
  return (await gql<Record<string, ServiceAccountRow>>(`mutation ($ak: ID!) { r: ${op}(accessKey: $ak) { ${SA_FIELDS} } }`, { ak: accessKey }))['r']!;
}

/** A new SecretKey for an account (its old tokens are revoked). */
export async function rotateSecret(accessKey: string): Promise<Credentials> {
  const q = `mutation ($ak: ID!) { rotateServiceAccountSecret(accessKey: $ak) { accessKey secretKey serviceAccount { ${SA_FIELDS} } } }`;
  return (await gql<{ rotateServiceAccountSecret: Credentials }>(q, { ak: accessKey })).rotateServiceAccountSecret;
}

/** Deletes an account; false when there was none such. */
export async function deleteServiceAccount(accessKey: string): Promise<boolean> {
  return (await gql<{ deleteServiceAccount: boolean }>(`mutation ($ak: ID!) { deleteServiceAccount(accessKey: $ak) }`, { ak: accessKey })).deleteServiceAccount;
}
