import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import type postgres from 'postgres';
import type { Db, DbOrTx } from './db';

/*
 * Write transactions whose BEGIN and COMMIT travel with their statements (postgres.js).
 *
 * A driver transaction costs a round trip for its BEGIN and one for its COMMIT, and a lock taken
 * by its last statement is held across the COMMIT's round trip: for a small ingest call, about as
 * long as the work itself. Here the transaction runs on a reserved connection (which postgres.js
 * never hands back to its pool behind our back: `sql.begin` does so as soon as the server reports
 * the session idle, so a COMMIT may not be sent early there):
 * - BEGIN is sent without waiting for it, in front of the first statement;
 * - the code that issues the last statement may send the COMMIT right behind it
 *   ({@link commitBehind}), so that the server commits as soon as that statement ran, and a lock it
 *   took is held for the statement and the commit only.
 * If a statement in front of a pipelined COMMIT fails, the server answers the COMMIT as a
 * ROLLBACK: nothing of the transaction is stored, and the runner raises the statement's error.
 */

/** Runs `fn` in one transaction: commits when it resolves, rolls back when it throws. */
export type WriteTransaction = <T>(fn: (tx: DbOrTx) => Promise<T>) => Promise<T>;

interface OpenTransaction {
  /** Whether the code that owns the transaction let {@link commitBehind} send the COMMIT. */
  armed: boolean;
  /** The COMMIT, once sent. */
  commit: Promise<unknown> | null;
  send(): void;
}

const open = new WeakMap<object, OpenTransaction>();

/**
 * Lets the next {@link commitBehind} on `tx` send its COMMIT: the transaction's owner calls it
 * before it runs the code that issues the transaction's last statement. A no-op on a driver
 * transaction.
 */
export function allowCommitBehind(tx: DbOrTx): void {
  const t = open.get(tx);
  if (t) t.armed = true;
}

/**
 * Sends the COMMIT of `tx` right behind the statements issued so far, when its owner allowed it
 * ({@link allowCommitBehind}); otherwise the owner commits once its code returns, as usual.
 * NOTE: call it in the same synchronous block that issued the last statement, and let nothing
 * fail after it: the transaction may be committed while the caller still reads its results.
 * A statement issued after it is refused.
 */
export function commitBehind(tx: DbOrTx): void {
  const t = open.get(tx);
  if (t?.armed) t.send();
}

const commandOf = (result: unknown) => (result as { command?: string } | null)?.command;

/**
 * A {@link WriteTransaction} over `client` (postgres.js); `wrap` gives the reserved connection
 * the handle's query settings (prepared statements, the in-flight counter).
 */
export function pipelinedTransactions(client: postgres.Sql, wrap: (c: postgres.ReservedSql) => postgres.ReservedSql): WriteTransaction {
  return async (fn) => {
    const conn = await client.reserve();
    /** Set once the code returned (or failed), and once the COMMIT reached the driver: a statement arriving later is refused (it would run outside the transaction). */
    let committing = false;
    let handed = false;
    const t: OpenTransaction = {
      armed: false,
      commit: null,
      send() {
        if (t.commit) return;
        // NOTE: a statement issued before this call reaches the driver through a chain of promise
        // jobs (drizzle, then postgres.js); a tick callback runs once those are done, so the
        // COMMIT is queued behind it on the connection. One still arriving later is refused.
        t.commit = new Promise((resolve, reject) =>
          process.nextTick(() => {
            handed = true;
            conn.unsafe('commit').then(resolve, reject);
          }),
        );
        t.commit.catch(() => {});
      },
    };
    const guarded = new Proxy(wrap(conn), {
      get(target, prop, receiver) {
        // NOTE: a reserved connection has no options of its own; drizzle reads (and sets) the pool's.
        if (prop === 'options') return client.options;
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (prop !== 'unsafe' || typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (committing || handed) throw new Error('a statement was issued after the transaction ended');
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const tx = drizzle({ client: guarded }) as unknown as Db;
    open.set(tx, t);
    // PERF: the connection plans with each execution's values (plan_cache_mode, see db.ts); the
    // statements of a write transaction have nothing to gain from that and take the generic
    // plan PostgreSQL chooses once it is no worse (planning was half of a small call's database time).
    const begun = conn.unsafe('begin; set local plan_cache_mode = auto').simple().execute();
    begun.catch(() => {});
    try {
      const result = await fn(tx);
      committing = true;
      t.send();
      await begun;
      if (commandOf(await t.commit) !== 'COMMIT') throw new Error('the transaction was rolled back at its commit');
      conn.release();
      return result;
    } catch (e) {
      committing = true;
      try {
        await t.commit;
      } catch {
        // Its error is the transaction's.
      }
      try {
        // Ends whatever is left of the transaction (a no-op after a COMMIT answered as ROLLBACK).
        await conn.unsafe('rollback');
        conn.release();
      } catch {
        // The connection is gone; postgres.js already moved it to its closed connections.
      }
      throw e;
    } finally {
      open.delete(tx);
    }
  };
}
