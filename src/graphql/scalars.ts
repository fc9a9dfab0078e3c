import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';

/** Epoch milliseconds; accepts integers and numeric strings (EnOS clients send both). */
export const TimestampScalar = new GraphQLScalarType({
  name: 'Timestamp',
  serialize(v) {
    // PERF: numbers first; bulk reads return epoch ms straight from SQL.
    if (typeof v === 'number') return v;
    if (v instanceof Date) return v.getTime();
    if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
    if (typeof v === 'string') return new Date(v).getTime();
    throw new GraphQLError('Timestamp cannot represent this value');
  },
  parseValue: parseTimestamp,
  parseLiteral(ast) {
    if (ast.kind === Kind.INT || ast.kind === Kind.STRING || ast.kind === Kind.FLOAT) return parseTimestamp(ast.kind === Kind.STRING ? ast.value : Number(ast.value));
    throw new GraphQLError('Timestamp must be epoch milliseconds', { extensions: { code: 'BAD_USER_INPUT' } });
  },
});

function parseTimestamp(v: unknown): number {
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || n > 253402300799999) {
    throw new GraphQLError('Timestamp must be a non-negative integer of epoch milliseconds', { extensions: { code: 'BAD_USER_INPUT' } });
  }
  return n;
}

/** ISO-8601 date-time output. */
export const DateTimeScalar = new GraphQLScalarType({
  name: 'DateTime',
  serialize(v) {
    const d = v instanceof Date ? v : new Date(v as string | number);
    if (Number.isNaN(d.getTime())) throw new GraphQLError('DateTime cannot represent this value');
    return d.toISOString();
  },
  parseValue(v) {
    const d = new Date(v as string);
    if (typeof v !== 'string' || Number.isNaN(d.getTime())) throw new GraphQLError('DateTime must be an ISO-8601 string', { extensions: { code: 'BAD_USER_INPUT' } });
    return d;
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING || Number.isNaN(new Date(ast.value).getTime())) throw new GraphQLError('DateTime must be an ISO-8601 string', { extensions: { code: 'BAD_USER_INPUT' } });
    return new Date(ast.value);
  },
});

function literalToJson(ast: ValueNode, vars: Record<string, unknown> | null | undefined): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map((v) => literalToJson(v, vars));
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalToJson(f.value, vars)]));
    case Kind.VARIABLE:
      return vars?.[ast.name.value];
    case Kind.ENUM:
      return ast.value;
    default: {
      const never: never = ast;
      return never;
    }
  }
}

/** Any JSON value. */
export const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  serialize: (v) => v,
  parseValue: (v) => v,
  parseLiteral: (ast, vars) => literalToJson(ast, vars),
});
