import type { ApiError } from '../api/errors';

/** Details of a MODEL_VIOLATION or partial ingest: `details.errors` as lines. */
function detailLines(details: unknown): string[] {
  const errors = (details as { errors?: unknown } | null | undefined)?.errors;
  if (!Array.isArray(errors)) return [];
  return errors.slice(0, 10).map((e: { identifier?: string; reason?: string; message?: string }) => [e.identifier, e.reason ?? e.message].filter(Boolean).join(': '));
}

/** An API error in words, with the server's message as detail. */
export function ErrorMessage({ error, onDismiss }: { readonly error: ApiError | null; readonly onDismiss?: () => void }) {
  if (!error) return null;
  const lines = detailLines(error.details);
  return (
    <div className="error" role="alert" data-code={error.code}>
      <strong>{error.message}</strong>
      {error.serverMessage && error.serverMessage !== error.message ? <div className="error-detail">{error.serverMessage}</div> : null}
      {lines.length ? (
        <ul className="error-detail">
          {lines.map((l, i) => (
            <li key={i}>{l}</li>
          ))}
        </ul>
      ) : null}
      {error.retryAfterS ? <div className="error-detail">Try again in {error.retryAfterS} s.</div> : null}
      {onDismiss ? (
        <button type="button" className="link" onClick={onDismiss}>
          Dismiss
        </button>
      ) : null}
    </div>
  );
}

/** Says what the service account may not do here, instead of offering a control that would fail. */
export function NotAllowed({ children }: { readonly children: React.ReactNode }) {
  return (
    <p className="not-allowed" role="note">
      {children}
    </p>
  );
}

/** A small "loading" line. */
export function Loading({ what }: { readonly what?: string }) {
  return <p className="muted">Loading{what ? ` ${what}` : ''}…</p>;
}
