import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** A TCP proxy a test can cut, to take a database away without stopping the shared server. */
export interface TcpProxy {
  readonly port: number;
  /** `up` forwards; `down` resets every connection and refuses new ones; `stalled` accepts and never answers. */
  set(mode: 'up' | 'down' | 'stalled'): void;
  close(): Promise<void>;
}

/** Starts a proxy on a free loopback port to `host:port`. */
export async function startTcpProxy(host: string, port: number): Promise<TcpProxy> {
  let mode: 'up' | 'down' | 'stalled' = 'up';
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    if (mode === 'down') return void client.resetAndDestroy();
    if (mode === 'stalled') return;
    const upstream = connect(port, host);
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    set(m) {
      mode = m;
      if (m !== 'up') for (const s of sockets) s.destroy();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
