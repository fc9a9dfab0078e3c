import { readFileSync } from 'node:fs';
import { sendRaw } from './http';
import type { Service } from './service';

/** One malformed input of test/fixtures/fault-corpus.json. */
interface CorpusCase {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  /** Header lines in order; Content-Length is added unless Transfer-Encoding is given. */
  readonly headers: readonly (readonly [string, string])[];
  /** UTF-8 body; `⟦N×text⟧` stands for `text` repeated N times (keeps large cases small on disk). */
  readonly body?: string;
  readonly bodyBase64?: string;
}

/** What the corpus run saw. */
export interface CorpusResult {
  readonly cases: number;
  readonly status5xx: readonly string[];
  readonly noAnswer: readonly string[];
  /** Whether the service process ended during the run. */
  readonly crashed: string | null;
}

const expand = (s: string, vars: Readonly<Record<string, string>>) => s.replace(/⟦(\d+)×([^⟦⟧]*)⟧/g, (_, n: string, t: string) => t.repeat(Number(n))).replace(/\$(TOKEN|ORG|ASSET|PK)\b/g, (_, k: string) => vars[k] ?? '');

/** Loads the corpus file. */
export function loadCorpus(file: string): CorpusCase[] {
  return JSON.parse(readFileSync(file, 'utf8')) as CorpusCase[];
}

/** Sends every case on its own connection; cases answered 5xx or not at all within 15 s, and whether the service died. */
export async function runCorpus(url: string, service: Service, cases: readonly CorpusCase[], vars: Readonly<Record<string, string>>): Promise<CorpusResult> {
  const status5xx: string[] = [];
  const noAnswer: string[] = [];
  for (const c of cases) {
    const body = c.bodyBase64 !== undefined ? Buffer.from(c.bodyBase64, 'base64') : c.body !== undefined ? Buffer.from(expand(c.body, vars), 'utf8') : Buffer.alloc(0);
    const headers = c.headers.map(([k, v]) => [k, expand(v, vars)] as const);
    const chunked = headers.some(([k]) => k.toLowerCase() === 'transfer-encoding');
    const lines = [`${c.method} ${expand(c.path, vars)} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...headers.map(([k, v]) => `${k}: ${v}`), ...(chunked || (c.body === undefined && c.bodyBase64 === undefined) ? [] : [`Content-Length: ${body.length}`])];
    const status = await sendRaw(url, Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]), 15_000);
    if (status >= 500) status5xx.push(`${c.name} (${status})`);
    if (status === -1) noAnswer.push(c.name);
    if (service.exited() !== null) return { cases: cases.length, status5xx, noAnswer, crashed: c.name };
  }
  return { cases: cases.length, status5xx, noAnswer, crashed: null };
}
