import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, queryRows, type Database } from '../../src/storage/db';
import { ADMIN_URL } from '../helpers/pg-admin';
import { createTestDatabase, type TestDatabase } from '../helpers/test-db';

/*
 * Faults of the PostgreSQL connection, against the real server, through the service's own database
 * handle. postgres.js 3.4.9 has three bugs here, carried as patches in patches/ until a release
 * fixes them: each test below fails without its patch.
 */

const CHILD = fileURLToPath(new URL('./fixtures/driver-faults-child.ts', import.meta.url));

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.drop());

interface ChildRun {
  readonly code: number | null;
  readonly stderr: string;
  readonly report: Record<string, unknown> | undefined;
}

/** Runs the fault scenarios in a child process, whose death the test can see. */
function runChild(loader: 'app' | 'cjs'): Promise<ChildRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CHILD, t.url!, ADMIN_URL, loader], { timeout: 100_000 }, (err, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop();
      let report: Record<string, unknown> | undefined;
      try {
        report = line ? (JSON.parse(line) as Record<string, unknown>) : undefined;
      } catch {
        report = undefined;
      }
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr, report });
    });
  });
}

describe('a backend terminated while statements are in flight', () => {
  for (const loader of ['app', 'cjs'] as const) {
    it(`leaves the process running, fails only the statements it cut, and the pool recovers (${loader === 'app' ? 'the service handle, ESM build' : 'the CommonJS build'})`, async () => {
      const run = await runChild(loader);
      expect(run.stderr).not.toMatch(/TypeError|unhandled|Uncaught/i);
      expect(run.code).toBe(0);
      const r = run.report!;
      expect(r['resolved']).toMatch(loader === 'app' ? /postgres\/src\/index\.js$/ : /postgres\/cjs\/src\/index\.js$/);
      expect(r['terminated']).toBeGreaterThanOrEqual(1);
      // The transaction's statement was cut: its caller gets an error it can catch.
      expect(r['transaction']).toEqual(['CONNECTION_CLOSED']);
      // Statements running or pipelined on the terminated backends fail; the rest run later.
      const pipelined = r['pipelined'] as string[];
      expect(pipelined).toHaveLength(12);
      expect(pipelined.filter((o) => o !== 'ok').length).toBeGreaterThanOrEqual(3);
      expect((r['largeWrite'] as string[][]).flat()).toHaveLength(8);
      expect(r['recovered']).toMatchObject({ attempt: expect.any(Number) });
      expect((r['recovered'] as { attempt: number }).attempt).toBeLessThanOrEqual(3);
      // No connection was lost from the pool of three.
      expect(r['poolSize']).toBe(3);
      expect(r['closedInTime']).toBe(true);
    });
  }
});

describe('an error in the middle of a result', () => {
  let one: Database;
  beforeAll(async () => {
    // One connection, so that the second statement is pipelined behind the first on it.
    one = await openDatabase({ url: t.url!, dataDir: '', poolMax: 1 });
  });
  afterAll(() => one.close());

  it('does not offset the result of the next statement pipelined on the same connection', async () => {
    for (let round = 0; round < 3; round++) {
      // Three rows, then a division by zero on the fourth.
      const failing = queryRows(one.db, sql`select i, 1 / (4 - i) as boom from generate_series(1, 10) i`).then(
        () => 'ok',
        (e: Error) => String((e.cause as Error | undefined)?.message ?? e.message),
      );
      const next = queryRows<{ x: number }>(one.db, sql`select x from generate_series(1, 5) x`);
      expect(await failing).toBe('division by zero');
      const rows = await next;
      expect(rows).toHaveLength(5);
      expect(rows).toEqual([1, 2, 3, 4, 5].map((x) => ({ x })));
    }
  });

  it('does not offset the next result after a statement timeout cut a result', async () => {
    await queryRows(one.db, sql`set statement_timeout = 300`);
    try {
      const failing = queryRows(one.db, sql`select i, case when i = 4 then pg_sleep(2) end as s from generate_series(1, 10) i`).then(
        () => 'ok',
        (e: Error) => String((e.cause as { code?: string } | undefined)?.code),
      );
      const next = queryRows<{ x: number }>(one.db, sql`select x from generate_series(1, 5) x`);
      expect(await failing).toBe('57014');
      expect(await next).toEqual([1, 2, 3, 4, 5].map((x) => ({ x })));
    } finally {
      await queryRows(one.db, sql`reset statement_timeout`);
    }
  });
});

describe('a failing query while a connection starts', () => {
  it('reaches the caller as an error, never as an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    const firsts: (string | undefined)[] = [];
    try {
      for (let round = 0; round < 3; round++) {
        // A 1 ms statement_timeout from the start cancels the driver's own array-types query.
        const client = postgres(t.url!, { max: 1, onnotice: () => {}, connection: { statement_timeout: 1 } });
        firsts.push(await client`select 1 as x`.then(() => 'ok', (e: { code?: string }) => e.code));
        await new Promise((r) => setTimeout(r, 50));
        await client.end({ timeout: 5 });
      }
      expect(firsts).toContain('57014');
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
