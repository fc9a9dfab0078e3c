import { useState } from 'react';
import { useAction } from '../api/use-api';
import { signInWithKeys, signInWithToken } from '../api/session';
import { useSessionState } from '../api/session-store';
import { ErrorMessage } from '../components/error-message';

/** Sign in with a service account's AccessKey and SecretKey, or with a token. */
export function SignInPage() {
  const { endedReason } = useSessionState();
  const [mode, setMode] = useState<'keys' | 'token'>('keys');
  const [accessKey, setAccessKey] = useState('');
  const [secretKey, setSecretKey] = useState('');
  const [token, setToken] = useState('');
  const action = useAction(async () => (mode === 'keys' ? signInWithKeys(accessKey, secretKey) : signInWithToken(token)));
  const ready = mode === 'keys' ? accessKey.trim() !== '' && secretKey.trim() !== '' : token.trim() !== '';
  return (
    <div className="signin">
      <form
        className="card signin-card"
        onSubmit={(e) => {
          e.preventDefault();
          void action.run();
        }}
      >
        <h1>Tributary console</h1>
        <p className="muted">Sign in as a service account. The console can do what the account's grants allow, nothing more.</p>
        {endedReason ? (
          <p className="notice" role="status">
            {endedReason}
          </p>
        ) : null}
        <div className="tabs" role="tablist">
          <button type="button" role="tab" aria-selected={mode === 'keys'} className={mode === 'keys' ? 'tab active' : 'tab'} onClick={() => setMode('keys')}>
            Access key
          </button>
          <button type="button" role="tab" aria-selected={mode === 'token'} className={mode === 'token' ? 'tab active' : 'tab'} onClick={() => setMode('token')}>
            Token
          </button>
        </div>
        {mode === 'keys' ? (
          <>
            <label>
              AccessKey
              <input name="accessKey" autoComplete="username" value={accessKey} onChange={(e) => setAccessKey(e.target.value)} autoFocus />
            </label>
            <label>
              SecretKey
              <input name="secretKey" type="password" autoComplete="current-password" value={secretKey} onChange={(e) => setSecretKey(e.target.value)} />
            </label>
            <p className="hint">The secret key never leaves this page: it signs the token request here, and stays in this tab's memory to renew the token.</p>
          </>
        ) : (
          <>
            <label>
              Token
              <textarea name="token" rows={3} value={token} onChange={(e) => setToken(e.target.value)} />
            </label>
            <p className="hint">A token from the token service (for example from the command line). It is not renewed: sign in again when it expires.</p>
          </>
        )}
        <ErrorMessage error={action.error} />
        <button type="submit" className="primary" disabled={!ready || action.running}>
          {action.running ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
