import type postgres from 'postgres';

/*
 * drizzle runs every statement through postgres.js `unsafe(text, params, { prepare: false })`,
 * and postgres.js sends an unnamed statement with parameters as Parse + Describe, waits for the
 * parameter types, then sends Bind + Execute: two round trips per query. With named prepared
 * statements (cached per connection, keyed by the text) only the first run on a connection pays
 * that; later runs are one round trip (measured: 0.82 -> 0.45 ms for `select $1::int` here).
 *
 * The connection asks for custom plans (plan_cache_mode = force_custom_plan, see db.ts), so every
 * execution is still planned with its actual values, as an unnamed statement is: TimescaleDB keeps
 * excluding chunks at plan time, and no generic plan is ever chosen behind our back.
 */

type AnySql = postgres.Sql | postgres.TransactionSql | postgres.ReservedSql;

/** Queries sent through {@link withPreparedStatements} and not settled yet (for the metrics). */
export interface QueryCounter {
  inFlight: number;
}

/**
 * `client`, with every `unsafe` query prepared, in transactions and savepoints too. When given,
 * `counter` counts the queries in flight (postgres.js does not expose its pool's state).
 */
export function withPreparedStatements<T extends AnySql>(client: T, counter?: QueryCounter): T {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'unsafe') {
        return (text: string, args?: unknown[], options?: postgres.UnsafeQueryOptions) => {
          const q = target.unsafe(text, args as postgres.ParameterOrJSON<never>[], { ...options, prepare: true });
          if (counter) {
            // NOTE: postgres.js sends a query when it is first awaited, after a microtask, so the
            // caller's chained modifiers (`.values()`) still apply; settling ends the count.
            counter.inFlight++;
            const done = () => void counter.inFlight--;
            q.then(done, done);
          }
          return q;
        };
      }
      if (prop === 'begin' || prop === 'savepoint') {
        const original = Reflect.get(target, prop, receiver) as (...a: unknown[]) => unknown;
        return (...a: unknown[]) => {
          const fn = a.pop() as (tx: postgres.TransactionSql) => unknown;
          return original.call(target, ...a, (tx: postgres.TransactionSql) => fn(withPreparedStatements(tx, counter)));
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}
