import { useState } from 'react';
import { Link, useParams } from 'wouter';
import { requestGraphQL } from '../api/client';
import { can } from '../api/permissions';
import { useSession } from '../api/session-store';
import { useApi } from '../api/use-api';
import { ATTRIBUTE_DEF_FIELDS, type AttributeDef } from '../components/attribute-inputs';
import { AttributesPanel } from '../components/device/attributes-panel';
import { EventsPanel } from '../components/device/events-panel';
import { FilesPanel } from '../components/device/files-panel';
import { LatestValues } from '../components/device/latest-values';
import { POINT_DEF_FIELDS, type PointDef } from '../components/device/model-types';
import { PointChart } from '../components/device/point-chart';
import { ErrorMessage, Loading, NotAllowed } from '../components/error-message';
import { formatTime } from '../components/format';

interface DeviceDetails {
  readonly assetId: string;
  readonly productKey: string;
  readonly deviceKey: string;
  readonly name: string;
  readonly description: string;
  readonly timezone: string;
  readonly status: string;
  readonly enabled: boolean;
  readonly tags: Record<string, string>;
  readonly createdAt: string;
  readonly measurepointLastUpdate: string | null;
  readonly product: { readonly name: string };
  readonly model: { readonly identifier: string; readonly name: string; readonly measurePoints: readonly PointDef[]; readonly attributes: readonly AttributeDef[] };
}

const DEVICE = `query DeviceDetails($id: ID!) {
  device(assetId: $id) {
    assetId productKey deviceKey name description timezone status enabled tags createdAt measurepointLastUpdate
    product { name }
    model { identifier name measurePoints { ${POINT_DEF_FIELDS} } attributes { ${ATTRIBUTE_DEF_FIELDS} } }
  }
}`;

const TABS = [
  { id: 'latest', label: 'Latest values' },
  { id: 'chart', label: 'Chart' },
  { id: 'attributes', label: 'Attributes' },
  { id: 'events', label: 'Events' },
  { id: 'files', label: 'Files' },
] as const;
type Tab = (typeof TABS)[number]['id'];

/** A device: its definition, latest values (live), chart, attributes, events and files. */
export function DeviceDetailsPage() {
  const { assetId = '' } = useParams<{ assetId: string }>();
  const grants = useSession().me.serviceAccount.grants;
  const [tab, setTab] = useState<Tab>('latest');
  const loaded = useApi(async (signal) => (await requestGraphQL<{ device: DeviceDetails | null }>(DEVICE, { id: assetId }, { signal })).data?.device ?? null, [assetId]);
  const d = loaded.data;
  if (loaded.loading && !d) return <Loading what="the device" />;
  if (!d) return loaded.error ? <ErrorMessage error={loaded.error} /> : <NotAllowed>This device does not exist, or this service account cannot see it.</NotAllowed>;
  const target = { productKey: d.productKey, assetId: d.assetId };
  const canRead = can(grants, 'ASSET_READ', target);
  const canWrite = can(grants, 'ASSET_WRITE', target);
  const filePoints = d.model.measurePoints.filter((p) => p.type.dataType === 'FILE').map((p) => p.identifier);
  return (
    <section>
      <div className="toolbar">
        <h1 className="inline-title">{d.name}</h1>
        <span className={`badge ${d.status}`}>{d.status.toLowerCase()}</span>
        <span className="spacer" />
        {can(grants, 'REGISTRY_FULL', target) ? (
          <Link href={`/devices/${encodeURIComponent(d.assetId)}/edit`} className="button">
            Edit
          </Link>
        ) : null}
      </div>
      <p className="muted">
        <span className="mono">{d.productKey}</span> / <span className="mono">{d.deviceKey}</span> · asset id <span className="mono">{d.assetId}</span> · {d.product.name} · model {d.model.name} · time zone {d.timezone} · created {formatTime(d.createdAt)}
        {d.measurepointLastUpdate ? ` · last data ${formatTime(d.measurepointLastUpdate)}` : ''}
      </p>
      {d.description ? <p>{d.description}</p> : null}
      <div className="sectiontabs" role="tablist">
        {TABS.map((t) => (
          <button key={t.id} type="button" role="tab" aria-selected={tab === t.id} className={tab === t.id ? 'tab active' : 'tab'} onClick={() => setTab(t.id)}>
            {t.label}
          </button>
        ))}
      </div>
      {!canRead ? (
        <NotAllowed>This service account can see the device but not its data: reading values, events and files needs ASSET_READ on it.</NotAllowed>
      ) : tab === 'latest' ? (
        <LatestValues assetId={d.assetId} points={d.model.measurePoints} />
      ) : tab === 'chart' ? (
        <PointChart assetId={d.assetId} points={d.model.measurePoints} timezone={d.timezone} />
      ) : tab === 'attributes' ? (
        <AttributesPanel assetId={d.assetId} defs={d.model.attributes} />
      ) : tab === 'events' ? (
        <EventsPanel assetId={d.assetId} />
      ) : (
        <FilesPanel assetId={d.assetId} canWrite={canWrite} filePoints={filePoints} />
      )}
    </section>
  );
}
