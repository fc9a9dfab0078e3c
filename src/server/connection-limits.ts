import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** Connection limits of one HTTP server. */
export interface ConnectionLimits {
  /** Open connections in total. */
  readonly maxConnections: number;
  /** Open connections per client address. */
  readonly maxPerAddress: number;
}

/** Counters of {@link limitConnections}, for metrics. */
export interface ConnectionStats {
  readonly open: number;
  readonly addresses: number;
  /** Connections closed at once since start because a limit was reached. */
  readonly refusedTotal: number;
}

/**
 * Closes, as soon as it opens, a connection past either limit, so that one client (or a flood of
 * idle sockets) cannot take every file descriptor and leave health checks unanswered.
 */
export function limitConnections(server: Server, limits: ConnectionLimits): () => ConnectionStats {
  let open = 0;
  let refusedTotal = 0;
  const perAddress = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const mine = perAddress.get(address) ?? 0;
    if (open >= limits.maxConnections || mine >= limits.maxPerAddress) {
      refusedTotal++;
      socket.destroy();
      return;
    }
    open++;
    perAddress.set(address, mine + 1);
    socket.once('close', () => {
      open--;
      const n = (perAddress.get(address) ?? 1) - 1;
      if (n > 0) perAddress.set(address, n);
      else perAddress.delete(address);
    });
  });
  return () => ({ open, addresses: perAddress.size, refusedTotal });
}
