// Hash routes: #/ (map), #/incidents (history), #/incidents/<id> (one incident), #/agents, #/reports, #/audit.
// Hash routing needs nothing from the server; the notification links' path form (/incidents/<id>, see
// server/notifiers/templates.ts incidentUrl) is accepted too and turned into its hash form.
export type Route =
  | { page: 'map' }
  | { page: 'incidents' }
  | { page: 'incident'; id: string }
  | { page: 'agents' }
  | { page: 'reports' }
  | { page: 'audit' };

export type Page = Route['page'];

function fromPath(path: string): Route | null {
  const parts = path.split('/').filter(Boolean);
  if (parts.length === 0 || parts[0] === 'map') return { page: 'map' };
  if (parts[0] === 'agents' && parts.length === 1) return { page: 'agents' };
  if (parts[0] === 'reports' && parts.length === 1) return { page: 'reports' };
  if (parts[0] === 'audit' && parts.length === 1) return { page: 'audit' };
  if (parts[0] === 'incidents') {
    if (parts.length === 1) return { page: 'incidents' };
    if (parts.length === 2) {
      try {
        return { page: 'incident', id: decodeURIComponent(parts[1]!) };
      } catch {
        return null;
      }
    }
  }
  return null;
}

/** The route for a location's hash (preferred) or, when the hash is empty, its path. Unknown -> the map. */
export function parseRoute(hash: string, pathname = '/'): Route {
  const h = hash.replace(/^#/, '').split('?')[0] ?? '';
  if (h && h !== '/') return fromPath(h) ?? { page: 'map' };
  return fromPath(pathname) ?? { page: 'map' };
}

export function routeHref(r: Route): string {
  switch (r.page) {
    case 'map':
      return '#/';
    case 'incidents':
      return '#/incidents';
    case 'incident':
      return `#/incidents/${encodeURIComponent(r.id)}`;
    case 'agents':
      return '#/agents';
    case 'reports':
      return '#/reports';
    case 'audit':
      return '#/audit';
  }
}
