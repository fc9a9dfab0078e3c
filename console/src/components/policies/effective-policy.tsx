import { describeStep, type EffectivePointPolicy } from '../../api/policies';

const SOURCE_WORDS: Readonly<Record<string, string>> = {
  POINT_GROUP: 'the storage policy that lists it',
  MODEL_DEFAULT: "the model's default storage policy",
  SERVICE_DEFAULT: "the service's default (POLICY_DEFAULT_STORAGE)",
};

/** Everything that applies to new values of a point: its processing, its storage and where that comes from, its computation. */
export function EffectivePolicy({ policy }: { readonly policy: EffectivePointPolicy }) {
  const s = policy.storage;
  return (
    <div className="card" data-testid="effective-policy">
      <h2>What applies to new values of {policy.point}</h2>
      <dl className="kv">
        <dt>Processing</dt>
        <dd data-testid="effective-processing">
          {policy.processing?.steps.length ? (
            <ol className="grants">
              {policy.processing.steps.map((st, i) => (
                <li key={i}>{describeStep(st)}</li>
              ))}
            </ol>
          ) : (
            'none: values are stored as received'
          )}
          {policy.processing?.keepRaw ? <div className="muted">Values as received are also kept.</div> : null}
        </dd>
        <dt>Storage</dt>
        <dd data-testid="effective-storage">
          {s.latestOnly ? 'only the latest value' : s.forms.map((f) => `${f.form} for ${f.retentionDays} days`).join(', ')}
          <div className="muted">
            from {SOURCE_WORDS[s.source] ?? s.source}
            {s.policyName ? ` “${s.policyName}”` : ''}
          </div>
        </dd>
        <dt>Computed</dt>
        <dd data-testid="effective-computed">{policy.computed ? (policy.computed.kind === 'EXPRESSION' ? `= ${policy.computed.expression ?? ''}` : `${policy.computed.window?.function ?? ''} of ${policy.computed.window?.source ?? ''} over ${policy.computed.window?.sizeS ?? ''} s`) : 'no: reported by devices'}</dd>
        <dt>Revision</dt>
        <dd>{policy.revision}</dd>
      </dl>
    </div>
  );
}
