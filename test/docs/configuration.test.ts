import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from '../../src/config';

const page = readFileSync(resolve(__dirname, '../../docs/configuration.md'), 'utf8');
/** The variables in the first column of the page's table. */
const documented = [...page.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1]);

describe('docs/configuration.md', () => {
  it('lists every environment variable the service reads', () => {
    expect(CONFIG_KEYS.filter((k) => !documented.includes(k))).toEqual([]);
  });

  it('lists no variable the service does not read, and each once', () => {
    expect(documented.filter((k) => !CONFIG_KEYS.includes(k!))).toEqual([]);
    expect(new Set(documented).size).toBe(documented.length);
  });
});
