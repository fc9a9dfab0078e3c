import { useSyncExternalStore } from 'react';
import type { Grant } from './permissions';

/**
 * The signed-in session: the token and what the service account is. It lives in memory and in
 * sessionStorage (so a reload keeps it; closing the tab ends it), never in a cookie. The secret
 * key is never stored: it stays in memory (session.ts) to renew the token.
 */

/** Who is signed in (the API's `me`). */
export interface Me {
  readonly organisation: { readonly id: string; readonly name: string };
  readonly serviceAccount: { readonly accessKey: string; readonly name: string; readonly grants: readonly Grant[] };
}

/** A signed-in session. */
export interface Session {
  readonly token: string;
  /** How it was opened: with keys (renewable while the secret key is in memory) or a pasted token. */
  readonly method: 'keys' | 'token';
  /** When the token expires (epoch ms); null when unknown (a pasted token). */
  readonly expiresAt: number | null;
  readonly me: Me;
}

/** The store's state: the session, or why there is none. */
export interface SessionState {
  readonly session: Session | null;
  /** Why the last session ended, shown on the sign-in page; null after a plain sign-out. */
  readonly endedReason: string | null;
}

const STORAGE_KEY = 'tributary.console.session';

function load(): Session | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Session;
    if (s.expiresAt !== null && s.expiresAt <= Date.now()) return null;
    return s;
  } catch {
    return null;
  }
}

let state: SessionState = { session: load(), endedReason: null };
const listeners = new Set<() => void>();

function setState(next: SessionState): void {
  state = next;
  if (next.session) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next.session));
  else sessionStorage.removeItem(STORAGE_KEY);
  for (const l of listeners) l();
}

/** The current state. */
export function getSessionState(): SessionState {
  return state;
}

/** The current token, or null when signed out. */
export function getToken(): string | null {
  return state.session?.token ?? null;
}

/** Starts or replaces the session. */
export function setSession(session: Session): void {
  setState({ session, endedReason: null });
}

/** Ends the session; `reason` is shown on the sign-in page. */
export function endSession(reason: string | null): void {
  // Without a session there is nothing to end (a refused sign-in shows its own error).
  if (!state.session) return;
  setState({ session: null, endedReason: reason });
}

/** Calls `listener` on every change; returns the unsubscribe function. */
export function subscribeSession(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The session state in a component (re-renders on change). */
export function useSessionState(): SessionState {
  return useSyncExternalStore(subscribeSession, getSessionState);
}

/** The session in a page that is only shown when signed in. */
export function useSession(): Session {
  const s = useSessionState().session;
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
}
