import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMasterKey } from '../auth/secret-box';
import type { Config } from '../config';

/** File that holds the generated master key of an embedded instance. */
export const MASTER_KEY_FILE = 'master.key';

/**
 * The master key that encrypts SA secrets: SECRET_ENCRYPTION_KEY when set; for the embedded
 * default, a key generated once under DATA_DIR (mode 0600). With DATABASE_URL the key must be
 * configured, because every instance must share it.
 */
export function resolveMasterKey(config: Config): Buffer {
  if (config.SECRET_ENCRYPTION_KEY) return parseMasterKey(config.SECRET_ENCRYPTION_KEY);
  if (config.DATABASE_URL) throw new Error('SECRET_ENCRYPTION_KEY is required with DATABASE_URL (32 bytes as 64 hex characters; e.g. `openssl rand -hex 32`)');
  mkdirSync(config.DATA_DIR, { recursive: true });
  const file = join(config.DATA_DIR, MASTER_KEY_FILE);
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  chmodSync(file, 0o600);
  return parseMasterKey(readFileSync(file, 'utf8'));
}

/** Where {@link resolveMasterKey} takes the key from, for messages: the env key or the key file. */
export function describeMasterKeySource(config: Config): string {
  return config.SECRET_ENCRYPTION_KEY || config.DATABASE_URL ? 'SECRET_ENCRYPTION_KEY' : `${join(config.DATA_DIR, MASTER_KEY_FILE)}`;
}
