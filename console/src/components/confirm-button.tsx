import { useEffect, useState } from 'react';

/** A button that asks once more ("Really delete?") before it acts; no browser dialog. */
export function ConfirmButton({ label, confirmLabel, onConfirm, disabled, className }: { readonly label: string; readonly confirmLabel: string; readonly onConfirm: () => void; readonly disabled?: boolean; readonly className?: string }) {
  const [asking, setAsking] = useState(false);
  useEffect(() => {
    if (!asking) return;
    const t = setTimeout(() => setAsking(false), 5_000);
    return () => clearTimeout(t);
  }, [asking]);
  if (!asking)
    return (
      <button type="button" className={className} disabled={disabled} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  return (
    <span className="confirm">
      <button
        type="button"
        className="danger"
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {confirmLabel}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}
