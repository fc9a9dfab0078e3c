import { describe, expect, it } from 'vitest';
import { can, canEverywhere, describeGrant, type Grant } from '../../console/src/api/permissions';
import { signTokenRequest as signInBrowser } from '../../console/src/api/sign';
import { signTokenRequest as signOnServer } from '../../src/auth/tokens';

/** The console's own logic that has to agree with the service's. */

describe('the console signs a token request as the service checks it', () => {
  it('gives the same signature as the service for the same keys and time', () => {
    for (const [ak, ts, sk] of [
      ['ak-1', '1768471200000', 'secret'],
      ['ak-ünïcode', '1', 'sk with spaces and ✓'],
    ] as const) {
      expect(signInBrowser(ak, ts, sk)).toBe(signOnServer(ak, ts, sk));
    }
  });
});

describe('what the console offers for a set of grants', () => {
  const grants: Grant[] = [
    { permission: 'REGISTRY_FULL', productKeys: ['pkA'], assetIds: null },
    { permission: 'ASSET_READ', productKeys: null, assetIds: ['dev1'] },
  ];

  it('reads a grant limited to products or devices as reaching only those', () => {
    expect(can(grants, 'REGISTRY_FULL', { productKey: 'pkA' })).toBe(true);
    expect(can(grants, 'REGISTRY_FULL', { productKey: 'pkB', assetId: 'dev9' })).toBe(false);
    expect(can(grants, 'ASSET_READ', { productKey: 'pkB', assetId: 'dev1' })).toBe(true);
    expect(can(grants, 'ASSET_READ', { productKey: 'pkA', assetId: 'dev2' })).toBe(false);
  });

  it('counts REGISTRY_FULL as REGISTRY_READ, and nothing else as another permission', () => {
    expect(can(grants, 'REGISTRY_READ', { productKey: 'pkA' })).toBe(true);
    expect(can(grants, 'ASSET_WRITE')).toBe(false);
    expect(can(grants, 'ORG_ADMIN')).toBe(false);
  });

  it('offers organisation-wide actions only for an unscoped grant', () => {
    expect(canEverywhere(grants, 'REGISTRY_FULL')).toBe(false);
    expect(canEverywhere([{ permission: 'REGISTRY_FULL', productKeys: null, assetIds: null }], 'REGISTRY_FULL')).toBe(true);
    expect(canEverywhere([{ permission: 'REGISTRY_FULL', productKeys: [], assetIds: [] }], 'REGISTRY_READ')).toBe(true);
  });

  it('describes grants in words', () => {
    expect(grants.map(describeGrant)).toEqual(['REGISTRY_FULL on products pkA', 'ASSET_READ on devices dev1']);
  });
});
