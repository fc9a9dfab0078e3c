import { AppError, ErrorCode } from '../errors';
import { GraphQLError, Kind, type ASTVisitor, type FieldNode, type FragmentDefinitionNode, type SelectionSetNode, type ValidationContext } from 'graphql';

/** Limits applied to every GraphQL document before it runs. */
export interface QueryLimits {
  readonly maxDepth: number;
  readonly maxAliases: number;
  readonly maxCost: number;
  /** Most lexical tokens of a document (graphql-js stops parsing there). */
  readonly maxTokens: number;
  /** Largest document text, in UTF-8 bytes. */
  readonly maxDocumentBytes: number;
  /** Largest serialised response, in UTF-8 bytes (QUERY_MAX_RESPONSE_BYTES). */
  readonly maxResponseBytes: number;
}

/**
 * Refuses a document text longer than the limit before it is parsed: PAYLOAD_TOO_LARGE.
 * Checked first so that one request's parse and validation stay bounded.
 */
export function checkDocumentSize(query: unknown, limits: QueryLimits): void {
  // NOTE: a string's length in UTF-16 units is at most its UTF-8 size, so the byte count is only computed near the limit.
  if (typeof query !== 'string' || query.length * 3 <= limits.maxDocumentBytes) return;
  const bytes = Buffer.byteLength(query);
  if (bytes > limits.maxDocumentBytes) throw new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `the GraphQL document has ${bytes} bytes; at most ${limits.maxDocumentBytes} are allowed`);
}

const LIST_ARGS = ['first', 'last', 'limit'];
/** Multiplier of a list field without an explicit size. */
const DEFAULT_LIST_SIZE = 10;

/** Root fields that read the schema (metadata), not data. */
const INTROSPECTION_ROOTS = new Set(['__schema', '__type']);

/**
 * Depth cap of an introspection selection, counted from the operation root. The limits above
 * protect data; schema reads are exempt from them because every standard client (GraphiQL,
 * Apollo Sandbox, Postman, graphql-codegen) sends graphql-js's `getIntrospectionQuery()`, which
 * is 15 levels deep with its default `typeDepth: 9` ofType chain. Introspection stays bounded:
 * graphql-js's own MaxIntrospectionDepthRule stops nested `fields`/`interfaces`/`possibleTypes`
 * lists (the only multiplicative part), and this cap refuses endless ofType chains. 32 leaves
 * room for clients that raise `typeDepth` to about 25.
 */
export const INTROSPECTION_MAX_DEPTH = 32;

interface Acc {
  depth: number;
  introspectionDepth: number;
  aliases: number;
  cost: number;
}

function refuse(message: string): GraphQLError {
  // NOTE: Apollo re-codes validation errors as GRAPHQL_VALIDATION_FAILED; `queryLimit` lets
  // formatGraphQLError restore our code.
  return new GraphQLError(message, { extensions: { code: 'QUERY_TOO_COMPLEX', queryLimit: true } });
}

/**
 * Validation rule: refuses documents that nest too deep, use too many aliases, or whose
 * estimated cost (each field costs 1, multiplied by the page sizes of the lists above it)
 * is too high. Runs before execution, so abusive queries cost nothing.
 */
export function createQueryLimitsRule(limits: QueryLimits) {
  return (ctx: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const d of ctx.getDocument().definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);

    const listSize = (f: FieldNode, vars: Record<string, unknown>): number => {
      for (const a of f.arguments ?? []) {
        if (!LIST_ARGS.includes(a.name.value)) continue;
        if (a.value.kind === Kind.INT) return Math.max(1, Number(a.value.value));
        if (a.value.kind === Kind.VARIABLE) {
          const v = vars[a.value.name.value];
          if (typeof v === 'number') return Math.max(1, v);
        }
        return DEFAULT_LIST_SIZE;
      }
      return 1;
    };

    const walk = (set: SelectionSetNode, depth: number, mult: number, seen: Set<string>, acc: Acc) => {
      acc.depth = Math.max(acc.depth, depth);
      if (acc.depth > limits.maxDepth || acc.cost > limits.maxCost) return;
      for (const s of set.selections) {
        if (s.kind === Kind.FIELD && INTROSPECTION_ROOTS.has(s.name.value)) {
          if (s.alias) acc.aliases++;
          if (s.selectionSet) walkIntrospection(s.selectionSet, depth + 1, seen, acc);
        } else if (s.kind === Kind.FIELD) {
          if (s.alias) acc.aliases++;
          acc.cost += mult;
          if (s.selectionSet) walk(s.selectionSet, depth + 1, mult * listSize(s, {}), seen, acc);
        } else if (s.kind === Kind.INLINE_FRAGMENT) {
          walk(s.selectionSet, depth, mult, seen, acc);
        } else {
          const name = s.name.value;
          const frag = fragments.get(name);
          if (!frag || seen.has(name)) continue; // cycles are reported by the standard rules
          walk(frag.selectionSet, depth, mult, new Set([...seen, name]), acc);
        }
      }
    };

    // Depth only (see INTROSPECTION_MAX_DEPTH); aliases still count, since each alias repeats the work.
    const walkIntrospection = (set: SelectionSetNode, depth: number, seen: Set<string>, acc: Acc) => {
      acc.introspectionDepth = Math.max(acc.introspectionDepth, depth);
      if (acc.introspectionDepth > INTROSPECTION_MAX_DEPTH) return;
      for (const s of set.selections) {
        if (s.kind === Kind.FIELD) {
          if (s.alias) acc.aliases++;
          if (s.selectionSet) walkIntrospection(s.selectionSet, depth + 1, seen, acc);
        } else if (s.kind === Kind.INLINE_FRAGMENT) {
          walkIntrospection(s.selectionSet, depth, seen, acc);
        } else {
          const name = s.name.value;
          const frag = fragments.get(name);
          if (!frag || seen.has(name)) continue;
          walkIntrospection(frag.selectionSet, depth, new Set([...seen, name]), acc);
        }
      }
    };

    return {
      OperationDefinition(op) {
        const acc: Acc = { depth: 0, introspectionDepth: 0, aliases: 0, cost: 0 };
        walk(op.selectionSet, 1, 1, new Set(), acc);
        if (acc.introspectionDepth > INTROSPECTION_MAX_DEPTH) ctx.reportError(refuse(`introspection depth exceeds ${INTROSPECTION_MAX_DEPTH}`));
        else if (acc.depth > limits.maxDepth) ctx.reportError(refuse(`query depth exceeds ${limits.maxDepth}`));
        else if (acc.aliases > limits.maxAliases) ctx.reportError(refuse(`query uses ${acc.aliases} aliases; at most ${limits.maxAliases} are allowed`));
        else if (acc.cost > limits.maxCost) ctx.reportError(refuse(`query cost exceeds ${limits.maxCost}`));
      },
    };
  };
}
