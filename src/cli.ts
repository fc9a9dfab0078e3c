import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from './config';
import { AppError } from './errors';
import { createLogger } from './log';
import { watchParent } from './server/parent-watch';
import { DataDirLockedError } from './storage/data-dir-lock';
import type { Database } from './storage/db';

// NOTE: the server and the database layers are imported on demand, so that `--help` does not
// load Apollo, graphql-ws, PGlite and every service.
const USAGE = `usage: tributary <command>
  serve                                   run the service (GraphQL, WebSocket, REST shim)
  migrate                                 apply database migrations and exit
  org create --name NAME [--id ID]        create an organisation (prints JSON)
  org list
  sa create --org ID --name NAME --grant PERM[:products=pk1|pk2][:assets=a1|a2] [--grant ...]
                                          create a service account; prints its keys as JSON
      PERM: ASSET_READ ASSET_WRITE REGISTRY_READ REGISTRY_FULL ORG_ADMIN
  sa list --org ID
  sa disable|enable|rotate|delete --org ID --access-key AK`;

/** Parses `PERM[:products=a|b][:assets=x|y]`. */
export function parseGrantArg(text: string): { permission: string; productKeys?: string[]; assetIds?: string[] } {
  const [permission, ...rest] = text.split(':');
  const g: { permission: string; productKeys?: string[]; assetIds?: string[] } = { permission: permission ?? '' };
  for (const part of rest) {
    const [k, v = ''] = part.split('=');
    const list = v.split('|').filter(Boolean);
    if (k === 'products') g.productKeys = list;
    else if (k === 'assets') g.assetIds = list;
    else throw new AppError('BAD_USER_INPUT', `unknown grant scope "${k}" (use products= or assets=)`);
  }
  return g;
}

async function withDb<T>(config: Config, fn: (d: Database) => Promise<T>): Promise<T> {
  const [{ openDatabase }, { runMigrations }] = await Promise.all([import('./storage/db'), import('./storage/migrate')]);
  const d = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATABASE_URL ? '' : `${config.DATA_DIR}/pglite`, poolMax: 2 });
  try {
    await runMigrations(d, { timescale: config.TIMESCALEDB, chunkInterval: config.TS_CHUNK_INTERVAL });
    return await fn(d);
  } finally {
    await d.close();
  }
}

/**
 * Admin commands read an existing embedded database; opening a missing one would create an
 * empty database and answer `[]` as if it were merely empty.
 */
function requireEmbeddedDatabase(config: Config): void {
  if (config.DATABASE_URL) return;
  const dir = resolve(config.DATA_DIR, 'pglite');
  if (!existsSync(join(dir, 'PG_VERSION'))) throw new AppError('NOT_FOUND', `no database at ${dir} (DATA_DIR=${config.DATA_DIR}): start the service once or run \`tributary migrate\``);
}

const print = (v: unknown) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { name: { type: 'string' }, id: { type: 'string' }, org: { type: 'string' }, grant: { type: 'string', multiple: true }, 'access-key': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const [cmd, sub] = positionals;
  if (values.help || !cmd) {
    process.stdout.write(`${USAGE}\n`);
    return cmd ? 0 : 2;
  }
  const config = loadConfig(process.env);
  const log = createLogger(config.LOG_LEVEL);
  const need = (v: string | undefined, flag: string): string => {
    if (!v) throw new AppError('BAD_USER_INPUT', `missing --${flag}`);
    return v;
  };

  switch (cmd) {
    case 'serve': {
      const { createApp } = await import('./server/app');
      const app = await createApp(config, { log });
      await app.listen();
      let stopping = false;
      /** `reason`: the signal, or `parent exited` (see watchParent). */
      const stop = (reason: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ reason }, 'stop requested');
        app.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            log.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      if (config.STOP_WITH_PARENT === 'true' || (config.STOP_WITH_PARENT === 'auto' && config.npm_lifecycle_event)) watchParent(() => stop('parent exited'));
      return -1; // keep running
    }
    case 'migrate':
      return withDb(config, async (d) => {
        const { runMigrations } = await import('./storage/migrate');
        const r = await runMigrations(d, { timescale: config.TIMESCALEDB, chunkInterval: config.TS_CHUNK_INTERVAL });
        log.info({ applied: r.applied, timescale: r.timescale }, 'migrations applied');
        return 0;
      });
    case 'org':
      if (sub !== 'create') requireEmbeddedDatabase(config);
      return withDb(config, async (d) => {
        const { createOrganisation, listOrganisations } = await import('./auth/service-accounts');
        if (sub === 'create') print(await createOrganisation(d.db, { id: values.id, name: need(values.name, 'name') }));
        else if (sub === 'list') print(await listOrganisations(d.db));
        else throw new AppError('BAD_USER_INPUT', `unknown command: org ${sub ?? ''}`);
        return 0;
      });
    case 'sa':
      requireEmbeddedDatabase(config);
      return withDb(config, async (d) => {
        const [{ createSecretBox }, { describeMasterKeySource, resolveMasterKey }, { verifyMasterKey }, sa] = await Promise.all([
          import('./auth/secret-box'),
          import('./server/secret-key'),
          import('./auth/master-key-check'),
          import('./auth/service-accounts'),
        ]);
        const { createServiceAccount, deleteServiceAccount, listServiceAccounts, organisationExists, rotateServiceAccountSecret, setServiceAccountEnabled } = sa;
        const box = createSecretBox(resolveMasterKey(config));
        // A secret sealed with a wrong key would pass the next start's key check and lock out the rest.
        await verifyMasterKey(d.db, box, describeMasterKeySource(config));
        const orgId = need(values.org, 'org');
        if (!(await organisationExists(d.db, orgId))) throw new AppError('NOT_FOUND', `organisation ${orgId} does not exist`);
        switch (sub) {
          case 'create': {
            const grants = (values.grant ?? []).map(parseGrantArg);
            const r = await createServiceAccount(d.db, box, { orgId, name: need(values.name, 'name'), grants });
            print({ orgId, accessKey: r.serviceAccount.accessKey, secretKey: r.secretKey, grants: r.serviceAccount.grants });
            return 0;
          }
          case 'list':
            print(await listServiceAccounts(d.db, orgId));
            return 0;
          case 'disable':
          case 'enable':
            print(await setServiceAccountEnabled(d.db, orgId, need(values['access-key'], 'access-key'), sub === 'enable'));
            return 0;
          case 'rotate': {
            const r = await rotateServiceAccountSecret(d.db, box, orgId, need(values['access-key'], 'access-key'));
            print({ orgId, accessKey: r.serviceAccount.accessKey, secretKey: r.secretKey });
            return 0;
          }
          case 'delete':
            print({ deleted: await deleteServiceAccount(d.db, orgId, need(values['access-key'], 'access-key')) });
            return 0;
          default:
            throw new AppError('BAD_USER_INPUT', `unknown command: sa ${sub ?? ''}`);
        }
      });
    default:
      process.stderr.write(`unknown command: ${cmd}\n${USAGE}\n`);
      return 2;
  }
}

/** What a second process on a locked embedded data directory tells its user. */
function dataDirInUse(err: DataDirLockedError, serving: boolean): string {
  const url = err.holder?.url ?? 'http://127.0.0.1:4000';
  const lines = [`tributary: ${err.message}.`, 'Only one process may open the embedded database at a time: a second one would silently lose data.'];
  if (serving) lines.push('Stop the running service first, or give this one another DATA_DIR (several instances on one database need DATABASE_URL).');
  else
    lines.push(
      'Do this through the running service instead (or stop it first). For example, create a service account over GraphQL',
      'with the token of an ORG_ADMIN service account (DATA_DIR/bootstrap-credentials.json holds the first one):',
      `  curl -s ${url}/graphql -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \\`,
      `    -d '{"query":"mutation { createServiceAccount(name: \\"app\\", grants: [{ permission: ASSET_READ }]) { accessKey secretKey } }"}'`,
      'See docs/operations.md, "Embedded data directory", for getting $TOKEN and the other commands.',
    );
  lines.push(`If no such process runs any more (e.g. on another host), remove ${err.file}.`);
  return `${lines.join('\n')}\n`;
}

run(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof DataDirLockedError) process.stderr.write(dataDirInUse(err, process.argv[2] === 'serve'));
    else if (err instanceof ConfigError) process.stderr.write(`${JSON.stringify({ level: 'fatal', msg: 'invalid configuration', problems: err.problems })}\n`);
    else if (err instanceof AppError) process.stderr.write(`${JSON.stringify({ level: 'error', code: err.code, msg: err.message })}\n`);
    else process.stderr.write(`${JSON.stringify({ level: 'fatal', msg: 'command failed', error: err instanceof Error ? err.message : String(err) })}\n`);
    process.exit(1);
  },
);
