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

/** Sends a JSON response with an exact Content-Length. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The client address of a request (the socket peer; proxies are not trusted). */
export function clientAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}
