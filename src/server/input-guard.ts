import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, Kind, visit, type DocumentNode } from 'graphql';
import { ErrorCode } from '../errors';

/**
 * Checks every request's input before it reaches a resolver, whatever field it feeds:
 * PostgreSQL text and jsonb refuse NUL characters and unpaired UTF-16 surrogates (they are no
 * Unicode text), so such a string would fail deep in SQL; and a value nested thousands of
 * levels deep would overflow the stack of any recursive walk (validation, JSON output). Both
 * are the client's mistake and are refused up front with the path of the offending value.
 */

/** Deepest nesting of objects and arrays accepted in variables and payloads. */
export const MAX_INPUT_DEPTH = 64;

/** A NUL, or a surrogate not part of a pair. */
const NOT_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `s` cannot be stored as text, or null. */
export function badText(s: string): string | null {
  const m = NOT_TEXT.exec(s);
  if (!m) return null;
  return m[0] === '\u0000' ? 'text must not contain NUL (\\u0000) characters' : 'text must not contain unpaired UTF-16 surrogates (e.g. \\ud800)';
}

const isPlain = (v: object): boolean => {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

/**
 * The first problem in `value` (strings and object keys that are no text, nesting deeper than
 * `maxDepth`), as `path: reason`, or null. Iterative, so any depth is safe to inspect. Only
 * arrays and plain objects are entered (uploads and other class instances are left alone).
 */
export function findBadInput(value: unknown, path: string, maxDepth = MAX_INPUT_DEPTH): string | null {
  const stack: [unknown, string, number][] = [[value, path, 0]];
  while (stack.length) {
    const [v, p, depth] = stack.pop()!;
    if (typeof v === 'string') {
      const why = badText(v);
      if (why) return `${p}: ${why}`;
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (!Array.isArray(v) && !isPlain(v)) continue;
    if (depth >= maxDepth) return `${p}: nested deeper than ${maxDepth} levels`;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${p}[${i}]`, depth + 1]);
    } else {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, x] = entries[i]!;
        const why = badText(k);
        if (why) return `${p}: key ${JSON.stringify(k.slice(0, 40))}: ${why}`;
        stack.push([x, `${p}.${k}`, depth + 1]);
      }
    }
  }
  return null;
}

/** The verdict of {@link findBadLiteral} per parsed document (Apollo reuses the parsed document of a query it has seen). */
const literalVerdicts = new WeakMap<DocumentNode, string | null>();

/** The first string literal of `document` that is no text, as `path: reason`, or null. */
function findBadLiteral(document: DocumentNode): string | null {
  const known = literalVerdicts.get(document);
  if (known !== undefined) return known;
  const found = scanLiterals(document);
  literalVerdicts.set(document, found);
  return found;
}

function scanLiterals(document: DocumentNode): string | null {
  let found: string | null = null;
  visit(document, {
    StringValue(node) {
      const why = found ? null : badText(node.value);
      if (why) found = `string literal at line ${node.loc?.startToken.line ?? '?'}: ${why}`;
    },
    Argument(node) {
      if (found) return;
      if (node.value.kind === Kind.STRING) {
        const why = badText(node.value.value);
        if (why) found = `argument ${node.name.value}: ${why}`;
      }
    },
  });
  return found;
}

/** The first problem of an operation's input (variables, then string literals), or null. */
export function findBadOperationInput(document: DocumentNode, variables: unknown): string | null {
  return findBadInput(variables ?? null, 'variables') ?? findBadLiteral(document);
}

const refuse = (message: string, code: string) => new GraphQLError(message, { extensions: { code, http: { status: 400 } } });

/**
 * The Apollo plugin: refuses subscriptions (served only over graphql-ws), and variables or
 * literals that are no text or too deep, with HTTP 400 and BAD_USER_INPUT (BAD_REQUEST for a
 * subscription) before anything runs.
 */
export function inputGuardPlugin<T extends object>(): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, request, document }) {
          if (operation?.operation === 'subscription') {
            throw refuse('subscriptions are served over WebSocket only: connect a graphql-ws client to the /graphql endpoint (ws:// or wss://)', 'BAD_REQUEST');
          }
          const bad = findBadOperationInput(document, request.variables);
          if (bad) throw refuse(bad, ErrorCode.BAD_USER_INPUT);
        },
      };
    },
  };
}

/** Deepest nesting of braces, brackets and parentheses accepted in a GraphQL document. */
export const MAX_DOCUMENT_NESTING = 256;

/** What a client is told when {@link documentTooDeep} refuses its document (code GRAPHQL_PARSE_FAILED), on every transport. */
export const DOCUMENT_TOO_DEEP_MESSAGE = `the document is nested too deeply (more than ${MAX_DOCUMENT_NESTING} levels of braces, brackets or parentheses)`;

/**
 * True when `query` nests `{`, `[` or `(` deeper than `max` outside strings and comments.
 * graphql-js parses recursively and overflows its stack on a few thousand levels; this linear
 * scan refuses such a document with a clear message before parsing.
 */
export function documentTooDeep(query: string, max = MAX_DOCUMENT_NESTING): boolean {
  let depth = 0;
  for (let i = 0; i < query.length; i++) {
    const c = query.charCodeAt(i);
    if (c === 0x23 /* # */) {
      while (i < query.length && query.charCodeAt(i) !== 0x0a && query.charCodeAt(i) !== 0x0d) i++;
    } else if (c === 0x22 /* " */) {
      if (query.startsWith('"""', i)) {
        i += 3;
        while (i < query.length && !query.startsWith('"""', i)) i += query.startsWith('\\"""', i) ? 4 : 1;
        i += 2;
      } else {
        i++;
        while (i < query.length && query.charCodeAt(i) !== 0x22 && query.charCodeAt(i) !== 0x0a) i += query.charCodeAt(i) === 0x5c ? 2 : 1;
      }
    } else if (c === 0x7b || c === 0x5b || c === 0x28) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d || c === 0x29) {
      depth--;
    }
  }
  return false;
}
