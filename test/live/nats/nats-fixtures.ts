import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/** The shared NATS server with JetStream of the development and CI machines. */
export const SHARED_NATS_URL = 'nats://127.0.0.1:4222';
/** The server binary tests start their own instances of. */
export const NATS_SERVER_BIN = process.env['NATS_SERVER_BIN'] ?? '/usr/sbin/nats-server';

/** Config keys that put an instance on NATS with a stream and subjects of its own (one test file). */
export function natsEnv(url = SHARED_NATS_URL): Record<string, string> {
  const tag = randomBytes(4).toString('hex');
  return { NATS_URL: url, NATS_STREAM: `TEST_LIVE_${tag}`, NATS_SUBJECT_PREFIX: `t${tag}.live` };
}

/** Deletes a test's stream (on the shared server, streams would otherwise pile up). */
export async function deleteStream(url: string, stream: string, auth: { user?: string; pass?: string } = {}): Promise<void> {
  const nc = await connect({ servers: url, ...auth });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(stream).catch(() => false);
  } finally {
    await nc.close();
  }
}

/** Fails with a message that says how to get NATS when the shared server is not running. */
export async function requireSharedNats(): Promise<void> {
  const ok = await new Promise<boolean>((resolve) => {
    const s = tcpConnect(4222, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
  if (!ok) throw new Error(`NATS with JetStream is not running at ${SHARED_NATS_URL}: start it with \`${NATS_SERVER_BIN} -js -sd /tmp/nats\` (.ci/run does)`);
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A NATS server a test owns: its own port and storage directory, stopped and started at will. */
export interface OwnNats {
  readonly url: string;
  readonly port: number;
  start(): Promise<void>;
  /** Stops it (SIGKILL when `hard`); JetStream data stays in its directory. */
  stop(hard?: boolean): Promise<void>;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
}

async function waitForPort(port: number, up: boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const s = tcpConnect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (open === up) return;
    if (Date.now() > deadline) throw new Error(`nats-server on ${port} did not ${up ? 'start' : 'stop'}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts `nats-server -js` on a free port with a temporary storage directory; `config` is the text
 * of a server configuration file (accounts, users), given the port and directory.
 */
export async function startOwnNats(config?: (port: number, dir: string) => string): Promise<OwnNats> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tributary-nats-'));
  const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'js')];
  if (config) {
    const file = join(dir, 'server.conf');
    writeFileSync(file, config(port, dir));
    args.push('-c', file);
  }
  let child: ChildProcess | null = null;
  const own: OwnNats = {
    url: `nats://127.0.0.1:${port}`,
    port,
    async start() {
      child = spawn(NATS_SERVER_BIN, args, { stdio: 'ignore' });
      await waitForPort(port, true);
    },
    async stop(hard = false) {
      const c = child;
      child = null;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill(hard ? 'SIGKILL' : 'SIGTERM');
      await exited;
      await waitForPort(port, false);
    },
    async dispose() {
      await own.stop(true);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await own.start();
  return own;
}
