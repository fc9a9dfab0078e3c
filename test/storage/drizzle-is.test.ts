import { entityKind, is, Param, SQL, sql } from 'drizzle-orm';
import { integer, PgColumn, PgDialect, pgTable } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';

// drizzle's `is` (patched: answers remembered per constructor and class) decides how every chunk
// of every query is built; these are the answers the SQL builder relies on, asked twice each.
describe("drizzle's entity check with remembered answers", () => {
  const table = pgTable('t', { a: integer('a') });

  it('gives the same answers the second time as the first', () => {
    const chunks = [sql`select 1`, new Param(1), table.a];
    for (let round = 0; round < 2; round++) {
      expect(chunks.map((c) => is(c, SQL))).toEqual([true, false, false]);
      expect(chunks.map((c) => is(c, Param))).toEqual([false, true, false]);
      expect(chunks.map((c) => is(c, PgColumn))).toEqual([false, false, true]);
      expect([1, 'x', null, undefined, [1], {}].map((v) => is(v, SQL))).toEqual([false, false, false, false, false, false]);
    }
  });

  it('recognises a class of another copy of drizzle by its entity kind, and only that one', () => {
    class ForeignSql {
      static readonly [entityKind] = (SQL as unknown as { [entityKind]: string })[entityKind];
    }
    class Other {
      static readonly [entityKind] = 'Other';
    }
    for (let round = 0; round < 2; round++) {
      expect(is(new ForeignSql(), SQL)).toBe(true);
      expect(is(new ForeignSql(), Param)).toBe(false);
      expect(is(new Other(), SQL)).toBe(false);
    }
  });

  it('still refuses a class that is not a drizzle entity, every time', () => {
    class NotAnEntity {}
    for (let round = 0; round < 2; round++) expect(() => is(new Param(1), NotAnEntity as never)).toThrow(/doesn't look like a Drizzle entity/);
  });

  it('builds the same query text and parameters', () => {
    const q = sql`select ${table.a} from ${table} where ${table.a} = ${1} and b in ${[2, 3]} and c = ${sql.param('x')}`;
    const d = new PgDialect();
    for (let round = 0; round < 2; round++) expect(d.sqlToQuery(q)).toEqual({ sql: 'select "t"."a" from "t" where "t"."a" = $1 and b in ($2, $3) and c = $4', params: [1, 2, 3, 'x'], typings: ['none', 'none', 'none', 'none'] });
  });
});
