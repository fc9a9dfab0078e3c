import { useEffect, useRef } from 'react';
import type { Credentials } from '../../api/service-accounts';
import { CopyButton } from './copy-button';

/**
 * The keys of a service account right after creation or rotation: the SecretKey is shown this
 * once (the service keeps only an encrypted copy and never returns it again).
 */
export function SecretOnce({ credentials, onDone, rotated }: { readonly credentials: Credentials; readonly onDone: () => void; readonly rotated?: boolean }) {
  const ref = useRef<HTMLDivElement>(null);
  // A rotation is started further down a long list: bring the keys into view.
  useEffect(() => {
    ref.current?.scrollIntoView({ block: 'nearest' });
  }, [credentials.secretKey]);
  return (
    <div className="card secret-once" data-testid="secret-once" ref={ref}>
      <h2>{rotated ? `New SecretKey of ${credentials.serviceAccount.name}` : `Keys of ${credentials.serviceAccount.name}`}</h2>
      <p className="notice" role="alert">
        <strong>Copy the SecretKey now: you will not see it again.</strong> Tributary keeps only an encrypted copy and never shows it a second time. If it is lost, rotate the secret to get a new one.
        {rotated ? ' Tokens obtained with the old SecretKey no longer work.' : ''}
      </p>
      <div className="keys">
        <span className="key-label">AccessKey</span>
        <code data-testid="new-access-key">{credentials.accessKey}</code>
        <CopyButton text={credentials.accessKey} label="Copy AccessKey" />
        <span className="key-label">SecretKey</span>
        <code data-testid="new-secret-key">{credentials.secretKey}</code>
        <CopyButton text={credentials.secretKey} label="Copy SecretKey" />
      </div>
      <div className="actions">
        <button type="button" className="primary" onClick={onDone}>
          I have stored the SecretKey
        </button>
      </div>
    </div>
  );
}
