import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The SHA-256 of the Apache License 2.0 as published (https://www.apache.org/licenses/LICENSE-2.0.txt).
const APACHE_2_0_SHA256 = 'cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30';

describe('licence', () => {
  it('ships the unmodified text of the licence that package.json names', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { license: string };
    expect(pkg.license).toBe('Apache-2.0');
    const text = readFileSync('LICENSE', 'utf8');
    expect(text).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    expect(createHash('sha256').update(text).digest('hex')).toBe(APACHE_2_0_SHA256);
  });
});
