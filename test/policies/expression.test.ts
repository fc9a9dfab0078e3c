import { describe, expect, it } from 'vitest';
import { compileExpression, evaluateExpression, EXPRESSION_MAX_DEPTH } from '../../src/policies/expression';

const run = (src: string, vars: Record<string, number> = {}) => evaluateExpression(compileExpression(src).ast, new Map(Object.entries(vars)));

describe('the expression evaluator', () => {
  it.each([
    ['voltage * current / 1000', { voltage: 230, current: 10 }, 2.3],
    ['2 ^ 3 ^ 2', {}, 512],
    ['-2 ^ 2', {}, 4],
    ['7 % 4 + 1', {}, 4],
    ['a > 1 ? max(a, 3) : min(a, -1)', { a: 2 }, 3],
    ['a > 1 ? max(a, 3) : min(a, -1)', { a: 0 }, -1],
    ['a >= 1 && a <= 2 || !a', { a: 0 }, 1],
    ['a == 2', { a: 2 }, 1],
    ['a != 2', { a: 2 }, 0],
    ['round(abs(a) * 10) / 10 + sqrt(16) + pow(2, 10) + floor(1.9) + ceil(1.1)', { a: -1.26 }, 1.3 + 4 + 1024 + 1 + 2],
    ['ln(exp(1)) + log10(1000)', {}, 4],
  ])('evaluates %s', (src, vars, expected) => {
    expect(run(src, vars)).toBeCloseTo(expected, 12);
  });

  it('returns null for a missing input or a result that is not a finite number', () => {
    expect(run('a + 1')).toBeNull();
    expect(run('a / 0', { a: 1 })).toBeNull();
    expect(run('sqrt(a)', { a: -1 })).toBeNull();
  });

  it('lists the identifiers an expression reads, once each', () => {
    expect(compileExpression('a * b + a').identifiers).toEqual(['a', 'b']);
  });

  it.each([
    ['a.b', 'member access'],
    ['a[0]', 'member access'],
    ['constructor.constructor("x")()', 'only calls of the math functions'],
    ['foo(1)', 'unknown function foo'],
    ['max()', 'takes 1 to 16'],
    ['this', 'ThisExpression is not allowed'],
    ['[1, 2]', 'ArrayExpression is not allowed'],
    ['a | b', 'syntax error'],
    ['a; b', 'single expression'],
    ['true', 'numeric literals'],
    ['~a', 'syntax error'],
    ['', 'empty'],
  ])('refuses %s', (src, message) => {
    expect(() => compileExpression(src)).toThrow(message);
  });

  it('refuses expressions nested too deeply or with too many terms', () => {
    expect(() => compileExpression(`${'('.repeat(100)}a${')'.repeat(100)}`)).not.toThrow();
    expect(() => compileExpression('-'.repeat(EXPRESSION_MAX_DEPTH + 1) + 'a')).toThrow('nested deeper');
    const sixteen = `max(${Array.from({ length: 16 }, (_, i) => `a${i}`).join(', ')})`;
    expect(() => compileExpression(`max(${Array(13).fill(sixteen).join(', ')})`)).toThrow('more than 200 terms');
  });
});
