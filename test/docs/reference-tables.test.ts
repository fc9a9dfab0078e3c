import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from '../../src/config';
import { ErrorCode, httpStatusOf } from '../../src/errors';

const read = (page: string) => readFileSync(resolve(__dirname, '../../docs', page), 'utf8');
/** The `NAME`s in the first column of a page's tables. */
const firstColumn = (text: string) => [...text.matchAll(/^\| `([A-Za-z][A-Za-z0-9_]*)` \|/gm)].map((m) => m[1] ?? '');

describe('docs/configuration.md', () => {
  const documented = firstColumn(read('configuration.md'));

  it('lists every environment variable the service reads', () => {
    expect(CONFIG_KEYS.filter((k) => !documented.includes(k))).toEqual([]);
  });

  it('lists no variable the service does not read, and each once', () => {
    expect(documented.filter((k) => !CONFIG_KEYS.includes(k))).toEqual([]);
    expect(new Set(documented).size).toBe(documented.length);
  });
});

describe('docs/graphql-api.md', () => {
  it('lists every error code with its HTTP status', () => {
    const rows = [...read('graphql-api.md').matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(rows.sort()).toEqual(Object.values(ErrorCode).map((c) => `${c} ${httpStatusOf[c]}`).sort());
  });
});
