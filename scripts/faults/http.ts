import { Agent, request } from 'node:http';
import { connect } from 'node:net';

/** What a client saw for one request. */
export interface Outcome {
  /** HTTP status, or 0 when no response came (connection error or client timeout). */
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly body: string;
  readonly ms: number;
}

/** Sends one request over `agent`; never throws. */
export function send(agent: Agent, url: string, method: string, path: string, headers: Record<string, string>, body: string | Buffer | undefined, timeoutMs = 30_000): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const u = new URL(url);
    const done = (status: number, retryAfter: string | undefined, text: string) => resolve({ status, retryAfter, body: text, ms: performance.now() - started });
    const req = request({ host: u.hostname, port: u.port, path, method, agent, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done(res.statusCode ?? 0, res.headers['retry-after'], Buffer.concat(chunks).toString()));
      res.on('error', () => done(0, undefined, ''));
    });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', () => done(0, undefined, ''));
    req.end(body);
  });
}

/** Sends raw bytes on a fresh socket and resolves with the status of the first response (0: closed without one, -1: no answer within `timeoutMs`). */
export function sendRaw(url: string, bytes: Buffer, timeoutMs: number): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = connect(Number(u.port), u.hostname);
    let got = '';
    let settled = false;
    const settle = (status: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      resolve(status);
    };
    const timer = setTimeout(() => settle(-1), timeoutMs);
    s.on('error', () => settle(statusOf(got)));
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      const status = statusOf(got);
      // 100 Continue is interim; wait for the final status.
      if (status >= 200 || (status > 0 && status !== 100)) settle(status);
    });
    s.on('close', () => settle(statusOf(got)));
    s.write(bytes);
  });
}

function statusOf(text: string): number {
  const all = [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
  return all.find((s) => s >= 200) ?? all[0] ?? 0;
}
