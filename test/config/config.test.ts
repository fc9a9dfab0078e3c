import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';

describe('configuration', () => {
  it('has working defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ PORT: 4000, DATA_DIR: './data', TOKEN_TTL_S: 7200, UPLOAD_MAX_BYTES: 100 * 1024 * 1024, ENOS_MESSAGE_MAX_BYTES: 512 * 1024, TIMESCALEDB: 'auto' });
    expect(c.DATABASE_URL).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('lists every bad key at once', () => {
    try {
      loadConfig({ PORT: 'eighty', TOKEN_TTL_S: '10', TIMESCALEDB: 'maybe', DATABASE_URL: 'not a url', OTHER: 'ignored' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const keys = (e as ConfigError).problems.map((p) => p.split(':')[0]);
      expect(keys.sort()).toEqual(['DATABASE_URL', 'PORT', 'TIMESCALEDB', 'TOKEN_TTL_S']);
    }
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' }).PORT).toBe(4000);
  });

  it('takes the NATS stream backend only with nats:// URLs and subject-safe names', () => {
    expect(loadConfig({}).NATS_URL).toBeUndefined();
    expect(loadConfig({ NATS_URL: 'nats://a:4222,nats://b:4222' })).toMatchObject({ NATS_URL: 'nats://a:4222,nats://b:4222', NATS_STREAM: 'TRIBUTARY_LIVE', NATS_SUBJECT_PREFIX: 'tributary.live', NATS_DUPLICATE_WINDOW_S: 600 });
    try {
      loadConfig({ NATS_URL: 'http://a:4222', NATS_STREAM: 'has.dot', NATS_SUBJECT_PREFIX: 'live.>' });
      expect.unreachable();
    } catch (e) {
      expect((e as ConfigError).problems.map((p) => p.split(':')[0]).sort()).toEqual(['NATS_STREAM', 'NATS_SUBJECT_PREFIX', 'NATS_URL']);
    }
  });
});
