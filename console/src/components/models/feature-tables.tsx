import { describeType, type FeatureDoc, type Member, type ModelDocument } from '../../api/models';

function params(members: readonly Member[] | undefined): string {
  if (!members?.length) return '—';
  return members.map((m) => `${m.identifier}: ${describeType(m.type)}${m.unit ? ` [${m.unit}]` : ''}${m.required ? ' (required)' : ''}`).join('; ');
}

function Table({ title, rows, columns, testId }: { readonly title: string; readonly rows: readonly FeatureDoc[]; readonly columns: readonly { readonly head: string; readonly cell: (f: FeatureDoc) => React.ReactNode }[]; readonly testId: string }) {
  return (
    <div className="section" data-testid={testId}>
      <h2>
        {title} <span className="muted">({rows.length})</span>
      </h2>
      {rows.length ? (
        <table className="features">
          <thead>
            <tr>
              <th>Identifier</th>
              <th>Name</th>
              {columns.map((c) => (
                <th key={c.head}>{c.head}</th>
              ))}
              <th>Description</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((f) => (
              <tr key={f.identifier} data-feature={f.identifier}>
                <td className="mono">{f.identifier}</td>
                <td>{f.name ?? f.identifier}</td>
                {columns.map((c) => (
                  <td key={c.head}>{c.cell(f)}</td>
                ))}
                <td className="muted">{f.description ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted">None.</p>
      )}
    </div>
  );
}

/** A model's attributes, measure points, events and services with their types and units. */
export function FeatureTables({ doc }: { readonly doc: ModelDocument }) {
  const type = { head: 'Type', cell: (f: FeatureDoc) => <span className="mono">{describeType(f.type)}</span> };
  const unit = { head: 'Unit', cell: (f: FeatureDoc) => f.unit ?? '—' };
  return (
    <>
      <Table title="Measure points" testId="model-points" rows={doc.measurePoints ?? []} columns={[type, unit, { head: 'Signal', cell: (f) => f.signalType ?? 'GENERIC' }, { head: 'Quality', cell: (f) => (f.hasQuality ? 'with quality' : '—') }]} />
      <Table title="Attributes" testId="model-attributes" rows={doc.attributes ?? []} columns={[type, unit, { head: 'Required', cell: (f) => (f.required ? 'required' : '—') }]} />
      <Table title="Events" testId="model-events" rows={doc.events ?? []} columns={[{ head: 'Level', cell: (f) => <span className={`badge ${f.level ?? ''}`}>{f.level}</span> }, { head: 'Output parameters', cell: (f) => <span className="mono">{params(f.outputData)}</span> }]} />
      <Table title="Services" testId="model-services" rows={doc.services ?? []} columns={[{ head: 'Input parameters', cell: (f) => <span className="mono">{params(f.inputData)}</span> }, { head: 'Output parameters', cell: (f) => <span className="mono">{params(f.outputData)}</span> }]} />
    </>
  );
}
