import { enosFileRoutes } from '../rest/file-routes';
import { integrationRoutes } from '../rest/integration-route';
import { measurepointRoutes } from '../rest/measurepoint-routes';
import { tsdbRoutes } from '../rest/tsdb-routes';
import { tokenRoutes } from '../rest/token-routes';
import { consoleRoutes } from './console-routes';
import { fileRoutes } from './file-routes';
import type { Route } from './routes';
import { signedFileRoutes } from './signed-file-routes';

/** Every non-GraphQL HTTP route, on the same port as GraphQL. Later domains add theirs here. */
export const routeTable: readonly Route[] = [...tokenRoutes, ...fileRoutes, ...signedFileRoutes, ...integrationRoutes, ...enosFileRoutes, ...measurepointRoutes, ...tsdbRoutes, ...consoleRoutes];
