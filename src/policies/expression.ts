import jsep from 'jsep';
import { badInput } from '../errors';

/*
 * Expressions of computed points. `jsep` parses; this module walks the AST with a whitelist:
 * numbers, point identifiers, + - * / % ^ (power), comparisons, && || !, the ternary, and a fixed
 * set of math functions. No member access, no other calls, no loops, bounded size and depth.
 * Parsing and checking happen when a policy is saved; ingest only evaluates compiled ASTs.
 */

// NOTE: jsep is a module-wide singleton; `^` is redefined as right-associative power above `*`.
jsep.addBinaryOp('^', 11, true);
for (const op of ['|', '&', '<<', '>>', '>>>', '===', '!==']) jsep.removeBinaryOp(op);
jsep.removeUnaryOp('~');

/** Longest expression accepted, in characters. */
export const EXPRESSION_MAX_LENGTH = 1000;
/** Largest number of AST nodes. */
export const EXPRESSION_MAX_NODES = 200;
/** Deepest nesting. */
export const EXPRESSION_MAX_DEPTH = 32;

const FUNCTIONS: Readonly<Record<string, { readonly arity: [number, number]; readonly fn: (...a: number[]) => number }>> = {
  abs: { arity: [1, 1], fn: Math.abs },
  min: { arity: [1, 16], fn: Math.min },
  max: { arity: [1, 16], fn: Math.max },
  round: { arity: [1, 1], fn: Math.round },
  floor: { arity: [1, 1], fn: Math.floor },
  ceil: { arity: [1, 1], fn: Math.ceil },
  sqrt: { arity: [1, 1], fn: Math.sqrt },
  pow: { arity: [2, 2], fn: Math.pow },
  exp: { arity: [1, 1], fn: Math.exp },
  ln: { arity: [1, 1], fn: Math.log },
  log10: { arity: [1, 1], fn: Math.log10 },
  sin: { arity: [1, 1], fn: Math.sin },
  cos: { arity: [1, 1], fn: Math.cos },
  tan: { arity: [1, 1], fn: Math.tan },
};

/** Functions an expression may call. */
export const EXPRESSION_FUNCTIONS = Object.keys(FUNCTIONS);

const BINARY = new Set(['+', '-', '*', '/', '%', '^', '<', '<=', '>', '>=', '==', '!=', '&&', '||']);
const UNARY = new Set(['-', '+', '!']);

/** A checked expression AST (a subset of jsep's). */
export type Expr =
  | { readonly t: 'num'; readonly v: number }
  | { readonly t: 'id'; readonly name: string }
  | { readonly t: 'un'; readonly op: string; readonly a: Expr }
  | { readonly t: 'bin'; readonly op: string; readonly a: Expr; readonly b: Expr }
  | { readonly t: 'if'; readonly c: Expr; readonly a: Expr; readonly b: Expr }
  | { readonly t: 'call'; readonly fn: string; readonly args: readonly Expr[] };

/** A parsed expression and the identifiers it reads. */
export interface CompiledExpression {
  readonly source: string;
  readonly ast: Expr;
  readonly identifiers: readonly string[];
}

/**
 * Parses and checks an expression. Throws BAD_USER_INPUT naming the problem (syntax error
 * position, forbidden construct, unknown function, too long or too deep).
 */
export function compileExpression(source: string): CompiledExpression {
  if (source.length > EXPRESSION_MAX_LENGTH) throw badInput(`expression is longer than ${EXPRESSION_MAX_LENGTH} characters`);
  if (!source.trim()) throw badInput('expression is empty');
  let tree: jsep.Expression;
  try {
    tree = jsep(source);
  } catch (e) {
    throw badInput(`expression syntax error: ${(e as Error).message}`, { expression: source });
  }
  const ids = new Set<string>();
  let nodes = 0;
  const walk = (n: jsep.Expression, depth: number): Expr => {
    if (++nodes > EXPRESSION_MAX_NODES) throw badInput(`expression has more than ${EXPRESSION_MAX_NODES} terms`);
    if (depth > EXPRESSION_MAX_DEPTH) throw badInput(`expression is nested deeper than ${EXPRESSION_MAX_DEPTH}`);
    switch (n.type) {
      case 'Literal': {
        const v = (n as jsep.Literal).value;
        if (typeof v !== 'number' || !Number.isFinite(v)) throw badInput(`expression may only contain numeric literals, found ${String((n as jsep.Literal).raw)}`);
        return { t: 'num', v };
      }
      case 'Identifier': {
        const name = (n as jsep.Identifier).name;
        ids.add(name);
        return { t: 'id', name };
      }
      case 'UnaryExpression': {
        const u = n as jsep.UnaryExpression;
        if (!UNARY.has(u.operator)) throw badInput(`operator ${u.operator} is not allowed in expressions`);
        return { t: 'un', op: u.operator, a: walk(u.argument, depth + 1) };
      }
      case 'BinaryExpression': {
        const b = n as jsep.BinaryExpression;
        if (!BINARY.has(b.operator)) throw badInput(`operator ${b.operator} is not allowed in expressions`);
        return { t: 'bin', op: b.operator, a: walk(b.left, depth + 1), b: walk(b.right, depth + 1) };
      }
      case 'ConditionalExpression': {
        const c = n as jsep.ConditionalExpression;
        return { t: 'if', c: walk(c.test, depth + 1), a: walk(c.consequent, depth + 1), b: walk(c.alternate, depth + 1) };
      }
      case 'CallExpression': {
        const c = n as jsep.CallExpression;
        if (c.callee.type !== 'Identifier') throw badInput('only calls of the math functions are allowed in expressions');
        const name = (c.callee as jsep.Identifier).name;
        const f = FUNCTIONS[name];
        if (!f) throw badInput(`unknown function ${name} (allowed: ${EXPRESSION_FUNCTIONS.join(', ')})`);
        if (c.arguments.length < f.arity[0] || c.arguments.length > f.arity[1]) throw badInput(`function ${name} takes ${f.arity[0] === f.arity[1] ? f.arity[0] : `${f.arity[0]} to ${f.arity[1]}`} argument(s)`);
        return { t: 'call', fn: name, args: c.arguments.map((a) => walk(a, depth + 1)) };
      }
      case 'MemberExpression':
        throw badInput('member access is not allowed in expressions');
      case 'Compound':
        throw badInput('an expression must be a single expression');
      default:
        throw badInput(`${n.type} is not allowed in expressions`);
    }
  };
  const ast = walk(tree, 0);
  return { source, ast, identifiers: [...ids] };
}

/**
 * Evaluates a compiled expression with numeric inputs. Booleans are 1 and 0. Returns null when
 * an input is missing or the result is not a finite number (division by zero, sqrt(-1)).
 */
export function evaluateExpression(ast: Expr, inputs: ReadonlyMap<string, number>): number | null {
  const v = evalNode(ast, inputs);
  return Number.isFinite(v) ? v : null;
}

function evalNode(n: Expr, inputs: ReadonlyMap<string, number>): number {
  switch (n.t) {
    case 'num':
      return n.v;
    case 'id': {
      const v = inputs.get(n.name);
      return v === undefined ? NaN : v;
    }
    case 'un': {
      const a = evalNode(n.a, inputs);
      return n.op === '-' ? -a : n.op === '+' ? a : a ? 0 : 1;
    }
    case 'bin': {
      if (n.op === '&&') return evalNode(n.a, inputs) && evalNode(n.b, inputs) ? 1 : 0;
      if (n.op === '||') return evalNode(n.a, inputs) || evalNode(n.b, inputs) ? 1 : 0;
      const a = evalNode(n.a, inputs);
      const b = evalNode(n.b, inputs);
      switch (n.op) {
        case '+': return a + b;
        case '-': return a - b;
        case '*': return a * b;
        case '/': return a / b;
        case '%': return a % b;
        case '^': return a ** b;
        case '<': return a < b ? 1 : 0;
        case '<=': return a <= b ? 1 : 0;
        case '>': return a > b ? 1 : 0;
        case '>=': return a >= b ? 1 : 0;
        case '==': return a === b ? 1 : 0;
        case '!=': return a !== b ? 1 : 0;
        default: return NaN;
      }
    }
    case 'if':
      return evalNode(n.c, inputs) ? evalNode(n.a, inputs) : evalNode(n.b, inputs);
    case 'call': {
      const f = FUNCTIONS[n.fn];
      return f ? f.fn(...n.args.map((a) => evalNode(a, inputs))) : NaN;
    }
    default: {
      const never: never = n;
      return never;
    }
  }
}
