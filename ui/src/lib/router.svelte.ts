// The current route, from location.hash, reactive. A path-form link (/incidents/<id> from a notification) is
// rewritten once to `/#/incidents/<id>` so relative asset and API paths keep working from the root.
import { parseRoute, routeHref, type Route } from './route.ts';

export class Router {
  route = $state<Route>({ page: 'map' });

  constructor() {
    if (typeof location === 'undefined') return;
    this.route = parseRoute(location.hash, location.pathname);
    if (location.pathname !== '/' && !location.hash) {
      history.replaceState(history.state, '', `/${location.search}${routeHref(this.route)}`);
    }
    window.addEventListener('hashchange', () => {
      this.route = parseRoute(location.hash, '/');
    });
  }

  go(r: Route): void {
    const href = routeHref(r);
    if (location.hash !== href) location.hash = href;
    else this.route = r;
  }
}

export const router = new Router();
