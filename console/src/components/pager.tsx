import { useCallback, useState } from 'react';

/** Relay-style page info (schema/common.graphql). */
export interface PageInfo {
  readonly hasNextPage: boolean;
  readonly endCursor: string | null;
}

/** Cursor paging state: the cursor of the current page and the way back. */
export interface Paging {
  /** The `after` argument of the current page (null: the first). */
  readonly after: string | null;
  /** Index of the page's first item (0-based), for "21–40 of 57". */
  readonly offset: number;
  next(endCursor: string | null, pageSize: number): void;
  previous(): void;
  reset(): void;
}

/** Keeps a stack of cursors so that Previous goes back without the API paging backwards. */
export function usePaging(pageSize: number): Paging {
  const [stack, setStack] = useState<(string | null)[]>([null]);
  const after = stack[stack.length - 1] ?? null;
  return {
    after,
    offset: (stack.length - 1) * pageSize,
    next: useCallback((endCursor: string | null) => setStack((s) => [...s, endCursor]), []),
    previous: useCallback(() => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)), []),
    reset: useCallback(() => setStack([null]), []),
  };
}

/** Previous / Next buttons with "1–20 of 57". */
export function Pager({ paging, pageInfo, count, total, pageSize }: { readonly paging: Paging; readonly pageInfo: PageInfo | undefined; readonly count: number; readonly total?: number; readonly pageSize: number }) {
  const from = count ? paging.offset + 1 : 0;
  const to = paging.offset + count;
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" onClick={paging.previous} disabled={paging.offset === 0}>
        ← Previous
      </button>
      <span className="pager-range">
        {from}–{to}
        {total !== undefined ? ` of ${total}` : ''}
      </span>
      <button type="button" onClick={() => paging.next(pageInfo?.endCursor ?? null, pageSize)} disabled={!pageInfo?.hasNextPage}>
        Next →
      </button>
    </nav>
  );
}
