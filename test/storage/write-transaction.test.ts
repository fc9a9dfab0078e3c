import { Socket } from 'node:net';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, queryRows, type Database, type DbOrTx } from '../../src/storage/db';
import { allowCommitBehind, commitBehind } from '../../src/storage/pipelined-transaction';
import { withAdmin } from '../helpers/pg-admin';
import { createTestDatabase, DRIVER, type TestDatabase } from '../helpers/test-db';

/*
 * Database.writeTransaction: on PostgreSQL its BEGIN and COMMIT travel with its statements
 * (storage/pipelined-transaction.ts); on PGlite it is the driver's transaction. Both must keep
 * a transaction's meaning: all or nothing, one transaction for all its statements.
 */

let t: TestDatabase;
/** A handle with a pool of one, so that every transaction runs on the same connection. */
let one: Database;
beforeAll(async () => {
  t = await createTestDatabase();
  one = t.url ? await openDatabase({ url: t.url, dataDir: '', poolMax: 1 }) : t.database;
  await queryRows(t.database.db, sql`create table wt_rows (k text primary key, v int not null)`);
});
afterAll(async () => {
  if (one !== t.database) await one.close();
  await t.drop();
});

const xid = async (tx: DbOrTx) => (await queryRows<{ x: string | null }>(tx, sql`select pg_current_xact_id_if_assigned()::text as x`))[0]!.x;
const stored = async (prefix: string) => (await queryRows<{ k: string }>(t.database.db, sql`select k from wt_rows where k like ${prefix + '%'} order by k`)).map((r) => r.k);

describe('a write transaction', () => {
  it('runs its statements in one transaction and commits them', async () => {
    const ids = await one.writeTransaction(async (tx) => {
      await queryRows(tx, sql`insert into wt_rows values ('a1', 1)`);
      const first = await xid(tx);
      await queryRows(tx, sql`insert into wt_rows values ('a2', 2)`);
      return [first, await xid(tx)];
    });
    expect(ids[0]).not.toBeNull();
    expect(ids[1]).toBe(ids[0]);
    expect(await stored('a')).toEqual(['a1', 'a2']);
  });

  it('stores nothing when its code throws, and the connection serves the next one', async () => {
    await expect(
      one.writeTransaction(async (tx) => {
        await queryRows(tx, sql`insert into wt_rows values ('b1', 1)`);
        throw new Error('the code failed');
      }),
    ).rejects.toThrow('the code failed');
    expect(await stored('b')).toEqual([]);
    await one.writeTransaction((tx) => queryRows(tx, sql`insert into wt_rows values ('b2', 2)`));
    expect(await stored('b')).toEqual(['b2']);
  });

  it('stores nothing when a statement fails in front of a COMMIT sent behind it', async () => {
    const failure = await one
      .writeTransaction(async (tx) => {
        await queryRows(tx, sql`insert into wt_rows values ('c1', 1)`);
        allowCommitBehind(tx);
        const failing = queryRows(tx, sql`insert into wt_rows values ('c2', 1 / 0)`);
        commitBehind(tx);
        return failing;
      })
      .then(
        () => 'committed',
        (e: Error) => String((e.cause as Error | undefined)?.message ?? e.message),
      );
    expect(failure).toBe('division by zero');
    expect(await stored('c')).toEqual([]);
    await one.writeTransaction((tx) => queryRows(tx, sql`insert into wt_rows values ('c3', 3)`));
    expect(await stored('c')).toEqual(['c3']);
  });

  it('runs the statement a COMMIT is sent behind inside the transaction', async () => {
    const [first, last] = await one.writeTransaction(async (tx) => {
      await queryRows(tx, sql`insert into wt_rows values ('d1', 1)`);
      const before = await xid(tx);
      allowCommitBehind(tx);
      const inserted = queryRows<{ x: string }>(tx, sql`insert into wt_rows values ('d2', 2) returning pg_current_xact_id_if_assigned()::text as x`);
      commitBehind(tx);
      return [before, (await inserted)[0]!.x];
    });
    expect(last).toBe(first);
    expect(await stored('d')).toEqual(['d1', 'd2']);
  });

  it('ignores a COMMIT behind the statements that its owner did not allow', async () => {
    await one.writeTransaction(async (tx) => {
      await queryRows(tx, sql`insert into wt_rows values ('e1', 1)`);
      commitBehind(tx);
      // Still the same transaction: its owner commits when the code returns.
      await queryRows(tx, sql`insert into wt_rows values ('e2', 2)`);
    });
    expect(await stored('e')).toEqual(['e1', 'e2']);
    await expect(
      one.writeTransaction(async (tx) => {
        await queryRows(tx, sql`insert into wt_rows values ('e3', 3)`);
        commitBehind(tx);
        throw new Error('late failure');
      }),
    ).rejects.toThrow('late failure');
    expect(await stored('e')).toEqual(['e1', 'e2']);
  });

  // PostgreSQL only: PGlite runs in process and writes to no socket.
  it.runIf(DRIVER === 'postgres')('sends its BEGIN, statements of several KiB issued together and its COMMIT in one write', async () => {
    const big = 'x'.repeat(3000);
    const transaction = (n: number) =>
      one.writeTransaction(async (tx) => {
        const first = queryRows(tx, sql`insert into wt_rows values (${`g${n}a${big}`}, 1)`);
        allowCommitBehind(tx);
        const second = queryRows(tx, sql`insert into wt_rows values (${`g${n}b${big}`}, 2)`);
        commitBehind(tx);
        await Promise.all([first, second]);
      });
    // NOTE: the first run prepares the statements on the connection (a round trip each), as ingest's first transaction does.
    await transaction(1);
    const writes: number[] = [];
    const write = Socket.prototype.write;
    Socket.prototype.write = function (this: Socket, ...args: unknown[]) {
      writes.push(Buffer.byteLength(args[0] as Buffer));
      return (write as (...a: unknown[]) => boolean).apply(this, args);
    } as typeof write;
    try {
      await transaction(2);
    } finally {
      delete (Socket.prototype as { write?: unknown }).write;
      if (Socket.prototype.write !== write) Socket.prototype.write = write;
    }
    expect(writes).toHaveLength(1);
    expect(writes[0]).toBeGreaterThan(6000);
    expect(await stored('g')).toHaveLength(4);
  });

  // PostgreSQL only: PGlite runs in process and has no connection to lose.
  it.runIf(DRIVER === 'postgres')('fails, and leaves the pool whole, when its backend is terminated in the middle', async () => {
    await expect(
      one.writeTransaction(async (tx) => {
        await queryRows(tx, sql`insert into wt_rows values ('f1', 1)`);
        const [{ pid }] = (await queryRows<{ pid: number }>(tx, sql`select pg_backend_pid() as pid`)) as [{ pid: number }];
        await withAdmin((admin) => admin`select pg_terminate_backend(${pid})`);
        await new Promise((r) => setTimeout(r, 100));
        await queryRows(tx, sql`insert into wt_rows values ('f2', 2)`);
      }),
    ).rejects.toThrow();
    expect(await stored('f')).toEqual([]);
    // The only connection of the pool reconnects for the next transaction.
    await one.writeTransaction((tx) => queryRows(tx, sql`insert into wt_rows values ('f3', 3)`));
    expect(await stored('f')).toEqual(['f3']);
  });
});
