import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';

/** A response read off a raw socket. */
export interface RawResponse {
  readonly status: number;
  /** Header names lowercased. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** Interim (1xx) statuses seen before the final response. */
  readonly interim: readonly number[];
  /** Whether the body was sent chunked. */
  readonly chunked: boolean;
}

/** One multipart part: its header lines in order, exactly as written, and its body. */
export interface WirePart {
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
}

/** What OkHttp's MultipartBody writes: `--b CRLF headers CRLF body CRLF` per part, then `--b-- CRLF`. */
export function buildMultipart(boundary: string, parts: readonly WirePart[]): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    out.push(Buffer.from(`--${boundary}\r\n${p.headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`, 'utf8'), p.body, Buffer.from('\r\n'));
  }
  out.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(out);
}

/** The `enos-message` part as the SDK writes it: no Content-Type, a Content-Length. */
export function sdkMessagePart(json: string, opts: { contentLength?: boolean } = {}): WirePart {
  const body = Buffer.from(json, 'utf8');
  return { headers: [['Content-Disposition', 'form-data; name="enos-message"'], ...(opts.contentLength === false ? [] : [['Content-Length', String(body.length)] as const])], body };
}

/** An `enos-file` part as the SDK writes it: hex Content-MD5, octet-stream, Content-Length. */
export function sdkFilePart(filename: string, body: Buffer, opts: { md5?: string | null; contentLength?: boolean; extraDisposition?: string } = {}): WirePart {
  const escaped = filename.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const headers: [string, string][] = [['Content-Disposition', `form-data; name="enos-file"; filename="${escaped}"${opts.extraDisposition ?? ''}`]];
  const md5 = opts.md5 === undefined ? md5Hex(body) : opts.md5;
  if (md5 !== null) headers.push(['Content-MD5', md5]);
  headers.push(['Content-Type', 'application/octet-stream']);
  if (opts.contentLength !== false) headers.push(['Content-Length', String(body.length)]);
  return { headers, body };
}

/** Lowercase hex MD5. */
export function md5Hex(b: Buffer | string): string {
  return createHash('md5').update(b).digest('hex');
}

/** The SDK's generated file name: unpadded base64url of 8 random bytes, then the extension. */
export function sdkFileName(ext = '.txt'): string {
  return randomBytes(8).toString('base64url') + ext;
}

/** Encodes a body with Transfer-Encoding: chunked framing, one chunk per slice. */
export function chunkedBody(body: Buffer, sliceBytes = 97): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < body.length; i += sliceBytes) {
    const slice = body.subarray(i, i + sliceBytes);
    out.push(Buffer.from(`${slice.length.toString(16)}\r\n`), slice, Buffer.from('\r\n'));
  }
  out.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(out);
}

/** Options of {@link rawRequest}. */
export interface RawRequestOptions {
  readonly method?: string;
  /** Path and query exactly as written on the request line (not encoded). */
  readonly target: string;
  /** Header lines in order, exactly as written. Host is added first when absent. */
  readonly headers?: readonly (readonly [string, string])[];
  /** Body bytes as they go on the wire (already chunk-framed when chunked). */
  readonly body?: Buffer;
  /** Send the head, wait for `100 Continue` (or a final answer), then the body. */
  readonly expectContinue?: boolean;
}

/**
 * Sends one HTTP/1.1 request byte for byte over a fresh socket and reads one response
 * (interim 1xx, Content-Length or chunked). The socket is closed afterwards.
 */
export function rawRequest(baseUrl: string, opts: RawRequestOptions): Promise<RawResponse> {
  const u = new URL(baseUrl);
  const headers = [...(opts.headers ?? [])];
  if (!headers.some(([k]) => k.toLowerCase() === 'host')) headers.unshift(['Host', u.host]);
  const head = Buffer.from(`${opts.method ?? 'GET'} ${opts.target} HTTP/1.1\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`, 'latin1');
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname);
    let buf = Buffer.alloc(0);
    const interim: number[] = [];
    let bodySent = false;
    const sendBody = () => {
      if (bodySent) return;
      bodySent = true;
      if (opts.body?.length) sock.write(opts.body);
    };
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no complete response within 20 s; received: ${buf.toString('latin1').slice(0, 300)}`));
    }, 20_000);
    const done = (r: RawResponse) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const tryParse = (ended: boolean) => {
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
        const status = Number(lines[0]?.split(' ')[1]);
        const hdrs: Record<string, string> = {};
        for (const l of lines.slice(1)) {
          const i = l.indexOf(':');
          hdrs[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
        }
        if (status >= 100 && status < 200) {
          interim.push(status);
          buf = buf.subarray(end + 4);
          if (status === 100) sendBody();
          continue;
        }
        const rest = buf.subarray(end + 4);
        if ((opts.method ?? 'GET') === 'HEAD' || status === 204 || status === 304) return done({ status, headers: hdrs, body: Buffer.alloc(0), interim, chunked: false });
        if (hdrs['transfer-encoding']?.toLowerCase() === 'chunked') {
          const out: Buffer[] = [];
          let pos = 0;
          for (;;) {
            const nl = rest.indexOf('\r\n', pos);
            if (nl < 0) return;
            const size = parseInt(rest.subarray(pos, nl).toString('latin1'), 16);
            if (rest.length < nl + 2 + size + 2) return;
            if (size === 0) return done({ status, headers: hdrs, body: Buffer.concat(out), interim, chunked: true });
            out.push(rest.subarray(nl + 2, nl + 2 + size));
            pos = nl + 2 + size + 2;
          }
        }
        if (hdrs['content-length'] !== undefined) {
          const n = Number(hdrs['content-length']);
          if (rest.length >= n) return done({ status, headers: hdrs, body: rest.subarray(0, n), interim, chunked: false });
          return;
        }
        if (ended) return done({ status, headers: hdrs, body: rest, interim, chunked: false });
        return;
      }
    };
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      tryParse(false);
    });
    sock.on('end', () => tryParse(true));
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('connect', () => {
      sock.write(head);
      if (!opts.expectContinue) sendBody();
    });
  });
}

/** Parses a JSON response body. */
export function json<T = Record<string, any>>(r: RawResponse): T {
  return JSON.parse(r.body.toString('utf8')) as T;
}

/** The envelope every shim JSON answer carries. */
export interface Envelope {
  readonly code: number;
  readonly msg: string;
  readonly requestId: string;
  readonly data: any;
}

/** A random boundary like OkHttp's (a UUID). */
export function okhttpBoundary(): string {
  return crypto.randomUUID();
}
