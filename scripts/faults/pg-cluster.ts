import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';

const BIN = process.env['PG_BIN'] ?? '/usr/lib/postgresql/15/bin';

/** A PostgreSQL 15 + TimescaleDB instance of the fault suite's own, in a temp dir on a free port. */
export interface PgCluster {
  readonly port: number;
  /** URL of database `name` on this instance. */
  url(name: string): string;
  /** Fast shutdown and start again; resolves once the server accepts connections. */
  restart(): Promise<void>;
  /** Terminates every client backend (as a crash of those connections would). */
  terminateBackends(): Promise<number>;
  /** Runs SQL as the superuser on database `name`. */
  sql<T>(name: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T>;
  destroy(): void;
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Runs a PostgreSQL tool as the `postgres` user when we are root (PostgreSQL refuses to run as root). */
function pgTool(tool: string, args: readonly string[]): void {
  const root = process.getuid?.() === 0;
  const cmd = root ? 'runuser' : join(BIN, tool);
  const argv = root ? ['-u', 'postgres', '--', join(BIN, tool), ...args] : [...args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${tool} failed: ${r.stderr || r.stdout}`);
}

/** Initialises and starts an instance (timescaledb preloaded, no background workers, telemetry off). */
export async function startPgCluster(): Promise<PgCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-faults-pg-'));
  chmodSync(dir, 0o700);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const port = await freePort();
  pgTool('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c shared_preload_libraries=timescaledb -c timescaledb.telemetry_level=off -c timescaledb.max_background_workers=0 -c max_connections=200 -c fsync=on`;
  const start = () => pgTool('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', opts, '-w', '-t', '60', 'start']);
  start();
  const url = (name: string) => `postgres://postgres@127.0.0.1:${port}/${name}`;
  const sql = async <T>(name: string, fn: (s: postgres.Sql) => Promise<T>): Promise<T> => {
    const s = postgres(url(name), { max: 1, onnotice: () => {}, connect_timeout: 5 });
    try {
      return await fn(s);
    } finally {
      await s.end({ timeout: 1 });
    }
  };
  return {
    port,
    url,
    sql,
    async restart() {
      pgTool('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
      start();
    },
    async terminateBackends() {
      return sql('postgres', async (s) => (await s`select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()`)[0]!['n'] as number);
    },
    destroy() {
      try {
        pgTool('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // NOTE: already stopped.
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
