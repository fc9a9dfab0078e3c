import { desc } from 'drizzle-orm';
import type { DbOrTx } from '../storage/db';
import { serviceAccounts } from '../storage/schema/index';
import type { SecretBox } from './secret-box';

/** The master key cannot decrypt the secrets already stored: the service must not start. */
export class MasterKeyMismatchError extends Error {
  override readonly name = 'MasterKeyMismatchError';
}

/**
 * Checks the master key against the stored secrets by decrypting the newest service account's
 * secret. Without this check a changed key shows up only at the first token request, as HTTP 500.
 * An empty database passes. `keySource` names where the key came from, for the message.
 */
export async function verifyMasterKey(db: DbOrTx, box: SecretBox, keySource: string): Promise<void> {
  const [row] = await db.select({ accessKey: serviceAccounts.accessKey, secretEnc: serviceAccounts.secretEnc }).from(serviceAccounts).orderBy(desc(serviceAccounts.id)).limit(1);
  if (!row) return;
  try {
    box.open(row.secretEnc);
  } catch {
    throw new MasterKeyMismatchError(
      `the master key from ${keySource} cannot decrypt the secrets stored in this database (service account ${row.accessKey}): they were encrypted with another key. ` +
        'Start with the key this database was created with; a new key works only with a new database.',
    );
  }
}
