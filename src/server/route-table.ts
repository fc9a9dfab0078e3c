import { tokenRoutes } from '../rest/token-routes';
import { fileRoutes } from './file-routes';
import type { Route } from './routes';

/** Every non-GraphQL HTTP route, on the same port as GraphQL. Later domains add theirs here. */
export const routeTable: readonly Route[] = [...tokenRoutes, ...fileRoutes];
