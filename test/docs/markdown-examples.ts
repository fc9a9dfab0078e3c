/**
 * Reads the runnable examples of a Markdown page and compares what they print with what the page
 * shows. The convention (also described in docs/architecture.md, "Documentation that is tested"):
 *
 * - A fenced block whose info string is `sh` is run by bash, in page order, in one working
 *   directory. Variables and shell functions a block defines are seen by the blocks after it.
 * - `sh no-test` is shown as shell but not run (installing, starting the service: the test starts
 *   its own instance and gives its address in `$TRIBUTARY`).
 * - A `json output` block right after a run block is what that block prints: one or more JSON
 *   values, compared structurally (same keys, same array lengths, same values). A string written
 *   `"<anything>"` (e.g. `"<token>"`, `"<assetId>"`, `"<time>"`) matches any value: use it for ids,
 *   tokens and times that differ on every run.
 * - A `text output` block is compared line by line, blank lines left out; `<anything>` inside a
 *   line matches any text.
 * - Every other block (`graphql`, `json`, `ts`, `text`, ...) is illustration and is not run.
 */

/** One fenced block of a Markdown page. */
export interface FencedBlock {
  /** The first word of the info string (`sh`, `json`, ...). */
  readonly lang: string;
  /** The words after it (`no-test`, `output`). */
  readonly tags: readonly string[];
  readonly body: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
}

/** A block to run and, when the page shows one, the output it must print. */
export interface Example {
  readonly run: FencedBlock;
  readonly expected?: FencedBlock;
}

/** Every fenced block of `markdown`, in order. */
export function readFencedBlocks(markdown: string): FencedBlock[] {
  const lines = markdown.split('\n');
  const blocks: FencedBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,}|~{3,})\s*(.*)$/.exec(lines[i] ?? '');
    if (!open) continue;
    const fence = open[1] ?? '```';
    const [lang = '', ...tags] = (open[2] ?? '').trim().split(/\s+/).filter(Boolean);
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !(lines[j] ?? '').startsWith(fence)) body.push(lines[j++] ?? '');
    blocks.push({ lang, tags, body: body.join('\n'), line: i + 1 });
    i = j;
  }
  return blocks;
}

/** The run blocks of a page, each with the output block that follows it, if any. */
export function readExamples(markdown: string): Example[] {
  const blocks = readFencedBlocks(markdown);
  const examples: Example[] = [];
  blocks.forEach((b, i) => {
    if (b.lang !== 'sh' || b.tags.includes('no-test')) return;
    const next = blocks[i + 1];
    const isOutput = next && next.tags.includes('output');
    examples.push(isOutput ? { run: b, expected: next } : { run: b });
  });
  return examples;
}

/** Splits text holding several JSON values (one per curl call) into those values. */
export function splitJsonValues(text: string): unknown[] {
  const values: unknown[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && /\s/.test(text[i] ?? '')) i++;
    if (i >= n) break;
    const start = i;
    const first = text[i];
    if (first === '{' || first === '[') {
      let depth = 0;
      let inString = false;
      for (; i < n; i++) {
        const c = text[i];
        if (inString) {
          if (c === '\\') i++;
          else if (c === '"') inString = false;
        } else if (c === '"') inString = true;
        else if (c === '{' || c === '[') depth++;
        else if (c === '}' || c === ']') {
          depth--;
          if (depth === 0) {
            i++;
            break;
          }
        }
      }
    } else if (first === '"') {
      for (i++; i < n && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      i++;
    } else {
      while (i < n && !/\s/.test(text[i] ?? '')) i++;
    }
    values.push(JSON.parse(text.slice(start, i)));
  }
  return values;
}

const PLACEHOLDER = /^<[^<>]+>$/;

/** Where `actual` differs from `expected` (a JSONPath-like location and both values), or null. */
export function diffJson(expected: unknown, actual: unknown, path = '$'): string | null {
  if (typeof expected === 'string' && PLACEHOLDER.test(expected)) return actual === undefined ? `${path}: missing` : null;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${path}: expected an array, got ${JSON.stringify(actual)}`;
    if (actual.length !== expected.length) return `${path}: expected ${expected.length} entries, got ${actual.length}: ${JSON.stringify(actual)}`;
    for (let k = 0; k < expected.length; k++) {
      const d = diffJson(expected[k], actual[k], `${path}[${k}]`);
      if (d) return d;
    }
    return null;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return `${path}: expected an object, got ${JSON.stringify(actual)}`;
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const extra = Object.keys(a).filter((k) => !(k in e));
    if (extra.length) return `${path}: unexpected keys ${extra.join(', ')}`;
    for (const k of Object.keys(e)) {
      const d = diffJson(e[k], a[k], `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return Object.is(expected, actual) ? null : `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}

/** Compares printed text with a `text output` block, blank lines left out; `<...>` in an expected line matches any text. */
export function diffText(expected: string, actual: string): string | null {
  const clean = (t: string) =>
    t
      .replace(/\r/g, '')
      .split('\n')
      .map((l) => l.replace(/\s+$/, ''))
      .filter((l) => l !== '');
  const e = clean(expected);
  const a = clean(actual);
  if (e.length !== a.length) return `expected ${e.length} lines, got ${a.length}:\n${a.join('\n')}`;
  for (let k = 0; k < e.length; k++) {
    const pattern = new RegExp(`^${(e[k] ?? '').split(/<[^<>]+>/).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    if (!pattern.test(a[k] ?? '')) return `line ${k + 1}: expected ${JSON.stringify(e[k])}, got ${JSON.stringify(a[k])}`;
  }
  return null;
}

/** Compares a run's standard output with the page's output block. */
export function diffOutput(expected: FencedBlock, stdout: string): string | null {
  if (expected.lang === 'json') {
    let want: unknown[];
    let got: unknown[];
    try {
      want = splitJsonValues(expected.body);
    } catch (e) {
      return `the page's output block is not JSON: ${(e as Error).message}`;
    }
    try {
      got = splitJsonValues(stdout);
    } catch (e) {
      return `the example did not print JSON (${(e as Error).message}):\n${stdout}`;
    }
    if (got.length !== want.length) return `expected ${want.length} JSON values, got ${got.length}:\n${stdout}`;
    return diffJson(want, got);
  }
  return diffText(expected.body, stdout);
}
