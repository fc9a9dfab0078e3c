import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, queryRows, type Database } from '../../src/storage/db';
import { dbUrl } from '../helpers/pg-admin';

/*
 * postgres.js runs the service's statements as named prepared statements (one round trip each),
 * planned with their actual values every time (src/storage/prepared-statements.ts).
 */

let d: Database;
beforeAll(async () => {
  d = await openDatabase({ url: dbUrl('postgres'), dataDir: '', poolMax: 1 });
});
afterAll(() => d.close());

describe('prepared statements', () => {
  it('prepares parameterized statements once per connection, in transactions too, and plans them with their values', async () => {
    await d.db.transaction(async (tx) => {
      for (let i = 0; i < 3; i++) expect(await queryRows<{ x: number }>(tx, sql`select ${i}::int as x`)).toEqual([{ x: i }]);
      const prepared = await queryRows<{ statement: string }>(tx, sql`select statement from pg_prepared_statements where statement like ${'select $1::int as x%'}`);
      expect(prepared).toHaveLength(1);
      const [mode] = await queryRows<{ m: string }>(tx, sql`select current_setting('plan_cache_mode') as m`);
      expect(mode!.m).toBe('force_custom_plan');
    });
  });

  it('prepares statements outside transactions as well, and their results are unchanged', async () => {
    for (let i = 0; i < 5; i++) expect(await queryRows<{ a: number[]; t: string }>(d.db, sql`select ${sql.param([i, i + 1])}::int[] as a, ${'x' + i}::text as t`)).toEqual([{ a: [i, i + 1], t: `x${i}` }]);
    // NOTE: one connection (poolMax 1), so this sees the statements the loop prepared.
    const prepared = await queryRows<{ statement: string }>(d.db, sql`select statement from pg_prepared_statements where statement like ${'select $1::int[] as a%'}`);
    expect(prepared).toHaveLength(1);
  });
});
