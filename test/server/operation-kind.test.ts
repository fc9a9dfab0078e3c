import { describe, expect, it } from 'vitest';
import { operationKind } from '../../src/server/operation-kind';

// Which requests may speculate (src/auth/speculation.ts): only documents that are plainly queries.
describe('operationKind', () => {
  it('tells queries from mutations and subscriptions, by operation name when a document has several', () => {
    expect(operationKind('POST', { query: '{ me { organisation { id } } }' }, '')).toBe('query');
    expect(operationKind('POST', { query: 'mutation { a }' }, '')).toBe('mutation');
    expect(operationKind('POST', { query: 'subscription S { a }' }, '')).toBe('subscription');
    const doc = 'query Q { a } mutation M { b }';
    expect(operationKind('POST', { query: doc, operationName: 'M' }, '')).toBe('mutation');
    expect(operationKind('POST', { query: doc, operationName: 'Q' }, '')).toBe('query');
    expect(operationKind('GET', undefined, `?query=${encodeURIComponent('{ a }')}`)).toBe('query');
  });

  it('answers unknown for anything it cannot be sure of', () => {
    expect(operationKind('POST', { query: 'query Q { a } mutation M { b }' }, '')).toBe('unknown');
    expect(operationKind('POST', { query: '{ a ' }, '')).toBe('unknown');
    expect(operationKind('POST', [{ query: '{ a }' }], '')).toBe('unknown');
    expect(operationKind('POST', { extensions: { persistedQuery: { sha256Hash: 'x' } } }, '')).toBe('unknown');
    expect(operationKind('POST', { query: `{ a }${' '.repeat(30_000)}` }, '')).toBe('unknown');
    expect(operationKind('POST', { query: 'query Q { a }', operationName: 'Other' }, '')).toBe('unknown');
  });
});
