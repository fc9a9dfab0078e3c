import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, ErrorCode } from '../errors';

/** Reads a whole request body up to `maxBytes`; PAYLOAD_TOO_LARGE past it. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    throw new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `request body exceeds ${maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      req.resume();
      throw new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `request body exceeds ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON body; BAD_USER_INPUT when it is not JSON. */
export function parseJsonBody(body: Buffer): unknown {
  if (!body.length) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new AppError(ErrorCode.BAD_USER_INPUT, 'request body is not valid JSON');
  }
}

/** Seconds a client is told to wait (Retry-After) after a 429 or a 503 that did not name its own. */
export const RETRY_AFTER_S = 1;

/** Sends a JSON response with an exact Content-Length; a 429 or 503 always carries Retry-After. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  const retry = (status === 429 || status === 503) && !Object.keys(headers).some((k) => k.toLowerCase() === 'retry-after') ? { 'retry-after': String(RETRY_AFTER_S) } : {};
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...retry, ...headers });
  res.end(text);
}

/** The client address of a request (the socket peer; proxies are not trusted). */
export function clientAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}
