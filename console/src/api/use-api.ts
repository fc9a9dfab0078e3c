import { useCallback, useEffect, useRef, useState } from 'react';
import { toApiError, type ApiError } from './errors';

/** The state of a load: its data, its error, and whether it is running. */
export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: ApiError | null;
  readonly loading: boolean;
  /** Loads again (after a change). */
  reload(): void;
}

/**
 * Runs `load` when the component mounts and whenever `deps` change, cancelling the previous run
 * (its signal aborts and its answer is ignored).
 */
export function useApi<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: ApiError | null; loading: boolean }>({ data: undefined, error: null, loading: true });
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const ctrl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    loadRef.current(ctrl.signal).then(
      (data) => !ctrl.signal.aborted && setState({ data, error: null, loading: false }),
      (e: unknown) => !ctrl.signal.aborted && setState((s) => ({ data: s.data, error: toApiError(e), loading: false })),
    );
    return () => ctrl.abort();
  }, [...deps, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { ...state, reload };
}

/** A mutation's state: run it, see whether it runs and how it failed. */
export interface Action<A extends unknown[], R> {
  run(...args: A): Promise<R | undefined>;
  readonly running: boolean;
  readonly error: ApiError | null;
  clearError(): void;
}

/** Wraps a mutation: `run` returns its result, or undefined after a failure (kept in `error`). */
export function useAction<A extends unknown[], R>(act: (...args: A) => Promise<R>): Action<A, R> {
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const actRef = useRef(act);
  actRef.current = act;
  const run = useCallback(async (...args: A) => {
    setRunning(true);
    setError(null);
    try {
      return await actRef.current(...args);
    } catch (e) {
      setError(toApiError(e));
      return undefined;
    } finally {
      setRunning(false);
    }
  }, []);
  return { run, running, error, clearError: useCallback(() => setError(null), []) };
}
