import type { ComponentType } from 'react';
import type { Permission } from './api/permissions';
import { ApplicationGrantsPage } from './pages/application-grants';
import { ApplicationNewPage } from './pages/application-new';
import { ApplicationsPage } from './pages/applications';
import { DashboardPage } from './pages/dashboard';
import { DeviceDetailsPage } from './pages/device-details';
import { DeviceEditPage } from './pages/device-edit';
import { DevicesPage } from './pages/devices';
import { ModelDetailsPage } from './pages/model-details';
import { ModelEditPage } from './pages/model-edit';
import { ModelsPage } from './pages/models';
import { OverviewPage } from './pages/overview';
import { PoliciesPage } from './pages/policies';
import { ProductEditPage } from './pages/product-edit';
import { ProductsPage } from './pages/products';

/** Groups of the navigation, in order. */
export const NAV_GROUPS = ['Data', 'Registry', 'Administration'] as const;

/** A page of the console: its path (wouter syntax, in the URL's #fragment) and its entry in the navigation. */
export interface ConsoleRoute {
  readonly path: string;
  readonly page: ComponentType;
  readonly nav?: {
    readonly label: string;
    readonly group: (typeof NAV_GROUPS)[number];
    /** Shown greyed out, with a hint, when the account lacks it. */
    readonly requires?: Permission;
  };
}

/** Every page. More specific paths come first (the first match wins). */
export const routes: readonly ConsoleRoute[] = [
  { path: '/', page: OverviewPage, nav: { label: 'Overview', group: 'Data' } },
  { path: '/dashboard', page: DashboardPage, nav: { label: 'Live dashboard', group: 'Data', requires: 'ASSET_READ' } },
  { path: '/products/new', page: ProductEditPage },
  { path: '/products/:productKey/edit', page: ProductEditPage },
  { path: '/products/:productKey/devices', page: DevicesPage },
  { path: '/products', page: ProductsPage, nav: { label: 'Products', group: 'Registry', requires: 'REGISTRY_READ' } },
  { path: '/devices/new', page: DeviceEditPage },
  { path: '/devices/:assetId/edit', page: DeviceEditPage },
  { path: '/devices/:assetId', page: DeviceDetailsPage },
  { path: '/devices', page: DevicesPage, nav: { label: 'Devices', group: 'Registry', requires: 'REGISTRY_READ' } },
  { path: '/models/new', page: ModelEditPage },
  { path: '/models/:identifier/edit', page: ModelEditPage },
  { path: '/models/:identifier', page: ModelDetailsPage },
  { path: '/models', page: ModelsPage, nav: { label: 'Thing models', group: 'Registry', requires: 'REGISTRY_READ' } },
  { path: '/policies/:model/points/:point', page: PoliciesPage },
  { path: '/policies/:model', page: PoliciesPage },
  { path: '/policies', page: PoliciesPage, nav: { label: 'Policies', group: 'Registry', requires: 'REGISTRY_READ' } },
  { path: '/applications/new', page: ApplicationNewPage },
  { path: '/applications/:accessKey/grants', page: ApplicationGrantsPage },
  { path: '/applications', page: ApplicationsPage, nav: { label: 'Applications', group: 'Administration', requires: 'ORG_ADMIN' } },
];
