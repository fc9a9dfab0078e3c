import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Grant } from '../../src/auth/permissions';
import { createOrganisation, createServiceAccount } from '../../src/auth/service-accounts';
import { signTokenRequest } from '../../src/auth/tokens';
import { loadConfig } from '../../src/config';
import { createLogger, type Logger } from '../../src/log';
import { createApp, type App } from '../../src/server/app';
import type { Db } from '../../src/storage/db';
import { createTestDatabase, DRIVER, type TestDatabase } from './test-db';

/** Fixed master key for tests. */
export const TEST_MASTER_KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

/** An organisation's service account with a live token. */
export interface Tenant {
  readonly orgId: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly token: string;
}

/** A GraphQL response as the client sees it. */
export interface GqlResult<T = Record<string, unknown>> {
  readonly status: number;
  readonly data: T | null | undefined;
  readonly errors: readonly { message: string; path?: readonly (string | number)[]; extensions?: { code?: string; details?: Record<string, unknown> } }[] | undefined;
}

/** Every permission, unscoped. */
export const ALL_GRANTS: Grant[] = [{ permission: 'ORG_ADMIN' }, { permission: 'REGISTRY_FULL' }, { permission: 'ASSET_READ' }, { permission: 'ASSET_WRITE' }];

/** A running test instance on a free port with its own database. */
export interface TestApp {
  readonly app: App;
  readonly url: string;
  readonly db: Db;
  readonly tdb: TestDatabase;
  readonly dataDir: string;
  /** Creates (or reuses) organisation `orgId` and a new SA with `grants`, and gets it a token over HTTP. */
  tenant(orgId: string, grants?: readonly Grant[]): Promise<Tenant>;
  /** Gets a token over the EnOS token route. */
  token(accessKey: string, secretKey: string): Promise<string>;
  /** Posts a GraphQL operation with an optional token. */
  gql<T = Record<string, any>>(token: string | undefined, query: string, variables?: Record<string, unknown>): Promise<GqlResult<T>>;
  close(): Promise<void>;
}

/** Starts an instance for one test file. `env` overrides config keys. */
export async function startTestApp(env: Record<string, string> = {}, opts: { tdb?: TestDatabase; log?: Logger } = {}): Promise<TestApp> {
  const tdb = opts.tdb ?? (await createTestDatabase());
  const dataDir = mkdtempSync(join(tmpdir(), 'tributary-test-'));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    SECRET_ENCRYPTION_KEY: TEST_MASTER_KEY,
    TIMESCALEDB: DRIVER === 'postgres' ? 'require' : 'auto',
    SCHEDULER_ENABLED: 'false',
    ...(tdb.url ? { DATABASE_URL: tdb.url } : {}),
    ...env,
  });
  const app = await createApp(config, { log: opts.log ?? createLogger(config.LOG_LEVEL), database: tdb.database, bootstrap: false });
  const url = await app.listen();
  const orgs = new Set<string>();

  const t: TestApp = {
    app,
    url,
    db: tdb.database.db,
    tdb,
    dataDir,
    async token(accessKey, secretKey) {
      const timestamp = String(Date.now());
      const res = await fetch(`${url}/apim-token-service/v2.0/token/get`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ appKey: accessKey, encryption: signTokenRequest(accessKey, timestamp, secretKey), timestamp }),
      });
      const body = (await res.json()) as { status: number; msg: string; data: { accessToken: string } | null };
      if (body.status !== 0 || !body.data) throw new Error(`token refused: ${body.status} ${body.msg}`);
      return body.data.accessToken;
    },
    async tenant(orgId, grants = ALL_GRANTS) {
      if (!orgs.has(orgId)) {
        await createOrganisation(t.db, { id: orgId, name: `Org ${orgId}` }).catch((e: unknown) => {
          if ((e as { code?: string }).code !== 'CONFLICT') throw e;
        });
        orgs.add(orgId);
      }
      const { serviceAccount, secretKey } = await createServiceAccount(t.db, app.deps.box, { orgId, name: `sa-${grants.map((g) => g.permission).join('-') || 'none'}`, grants });
      return { orgId, accessKey: serviceAccount.accessKey, secretKey, token: await t.token(serviceAccount.accessKey, secretKey) };
    },
    async gql(token, query, variables) {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data?: unknown; errors?: GqlResult['errors'] };
      return { status: res.status, data: body.data as never, errors: body.errors };
    },
    async close() {
      await app.stop(1000);
      if (!opts.tdb) await tdb.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}

/** The error code of the first error, for compact assertions. */
export function errorCode(r: GqlResult): string | undefined {
  return r.errors?.[0]?.extensions?.code;
}
