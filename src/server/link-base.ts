import type { IncomingMessage } from 'node:http';
import type { Config } from '../config';

/** A Host header that can start a URL (name or address, optional port). */
const HOST_RE = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/**
 * The origin signed links start with: PUBLIC_URL when set (a proxy in front), else http:// and
 * the request's Host header (the address the client reached), else the loopback port.
 */
export function linkBase(req: IncomingMessage, config: Config): string {
  if (config.PUBLIC_URL) return config.PUBLIC_URL.replace(/\/+$/, '');
  const host = req.headers.host;
  return typeof host === 'string' && HOST_RE.test(host) ? `http://${host}` : `http://127.0.0.1:${config.PORT}`;
}
