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

    const walk = (set: SelectionSetNode, depth: number, mult: number, seen: Set<string>, acc: { depth: number; aliases: number; cost: number }) => {
      acc.depth = Math.max(acc.depth, depth);
      if (acc.depth > limits.maxDepth || acc.cost > limits.maxCost) return;
      for (const s of set.selections) {
        if (s.kind === Kind.FIELD) {
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

    return {
      OperationDefinition(op) {
        const acc = { depth: 0, aliases: 0, cost: 0 };
        walk(op.selectionSet, 1, 1, new Set(), acc);
        if (acc.depth > limits.maxDepth) ctx.reportError(refuse(`query depth exceeds ${limits.maxDepth}`));
        else if (acc.aliases > limits.maxAliases) ctx.reportError(refuse(`query uses ${acc.aliases} aliases; at most ${limits.maxAliases} are allowed`));
        else if (acc.cost > limits.maxCost) ctx.reportError(refuse(`query cost exceeds ${limits.maxCost}`));
      },
    };
  };
}
