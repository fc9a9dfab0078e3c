import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';

/** Hop-by-hop headers of an upgrade offer that a server declining it drops (RFC 9110 7.8). */
const OFFER_HEADERS = new Set(['upgrade', 'http2-settings']);

/** Whether a request asks for a WebSocket (`Upgrade: websocket`, any case). */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '')
    .split(',')
    .some((p) => p.trim().toLowerCase() === 'websocket');
}

/**
 * The request head as it came, minus the upgrade offer: `Upgrade` and `HTTP2-Settings` are
 * dropped, and their tokens are removed from `Connection` (dropped when nothing else is left).
 */
export function headWithoutUpgrade(req: IncomingMessage): Buffer {
  const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/${req.httpVersion}`];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (OFFER_HEADERS.has(lower)) continue;
    let value = raw[i + 1]!;
    if (lower === 'connection') {
      value = value
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t && !OFFER_HEADERS.has(t.toLowerCase()))
        .join(', ');
      if (!value) continue;
    }
    lines.push(`${name}: ${value}`);
  }
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

/**
 * Routes HTTP upgrade requests: a WebSocket upgrade on `wsPath` goes to `onWebSocket`; any
 * other upgrade offer (`Upgrade: h2c` from Java's HttpClient or `curl --http2`, a WebSocket
 * on another path) is declined and the request is served as ordinary HTTP/1.1 on the same
 * connection: its head, without the offer, and the bytes read past it are put back on the
 * socket, which the HTTP server then parses again as a fresh connection (keep-alive works).
 */
export function routeUpgrades(server: Server, wsPath: string, onWebSocket: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const pathname = (req.url ?? '/').split('?')[0];
    if (pathname === wsPath && isWebSocketUpgrade(req)) return onWebSocket(req, socket, head);
    socket.unshift(Buffer.concat([headWithoutUpgrade(req), head]));
    server.emit('connection', socket);
  });
}
