import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { count } from 'drizzle-orm';
import { createOrganisation, createServiceAccount } from '../auth/service-accounts';
import type { SecretBox } from '../auth/secret-box';
import type { Logger } from '../log';
import type { Db } from '../storage/db';
import { organisations } from '../storage/schema/index';

/** File, under DATA_DIR, that receives the bootstrap admin's keys. */
export const BOOTSTRAP_FILE = 'bootstrap-credentials.json';

/**
 * On an empty embedded database: creates a default organisation and an admin SA holding every
 * permission, and writes its keys to DATA_DIR/bootstrap-credentials.json (mode 0600). Logs the
 * file's path, never the secret.
 */
export async function bootstrapIfEmpty(db: Db, box: SecretBox, dataDir: string, log: Logger): Promise<string | null> {
  const [r] = await db.select({ n: count() }).from(organisations);
  if ((r?.n ?? 0) > 0) return null;
  const org = await createOrganisation(db, { id: 'default', name: 'Default organisation' });
  const { serviceAccount, secretKey } = await createServiceAccount(db, box, {
    orgId: org.id,
    name: 'bootstrap-admin',
    grants: [{ permission: 'ORG_ADMIN' }, { permission: 'REGISTRY_FULL' }, { permission: 'ASSET_READ' }, { permission: 'ASSET_WRITE' }],
  });
  const file = resolve(join(dataDir, BOOTSTRAP_FILE));
  writeFileSync(file, `${JSON.stringify({ orgId: org.id, accessKey: serviceAccount.accessKey, secretKey }, null, 2)}\n`, { mode: 0o600 });
  log.info({ file, orgId: org.id, accessKey: serviceAccount.accessKey }, 'bootstrap admin service account created; keys written to file');
  return file;
}
