import { sql } from 'drizzle-orm';
import { openDatabase, queryRows } from './src/storage/db';
import { allowCommitBehind, commitBehind } from './src/storage/pipelined-transaction';
async function main() {
  const d = await openDatabase({ url: 'postgres://postgres@127.0.0.1:5432/postgres', dataDir: '', poolMax: 2 });
  console.log('open');
  const r = await d.writeTransaction(async (tx) => {
    const a = await queryRows(tx, sql`select pg_current_xact_id_if_assigned()::text as x, 1 as one`);
    console.log('a', a);
    await queryRows(tx, sql`create temp table if not exists tt (x int)`);
    allowCommitBehind(tx);
    const ins = queryRows(tx, sql`insert into tt values (1) returning pg_current_xact_id_if_assigned()::text as x`);
    commitBehind(tx);
    return await ins;
  });
  console.log('r', r);
  for (let i = 0; i < 5; i++) console.log(await d.writeTransaction(async (tx) => queryRows(tx, sql`select ${i}::int as i`)));
  await d.close();
}
void main();
