// Every route that changes state declares, with its contract (config/api.ts `audit`), what it leaves in the audit
// trail: a new state-changing route without a decision fails here. An agent's own routes (its token, not a person)
// are the exception. A module that records its own actions must really name them in its source.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { API, splitRoute, type ApiRoute, type RouteContract } from '../../config/api.ts';
import { ACTIONS } from '../../server/audit/actions.ts';

const routes = Object.entries(API) as [ApiRoute, RouteContract][];

function sources(dir: string): string {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((f) => f.isFile() && f.name.endsWith('.ts'))
    .map((f) => readFileSync(join(f.parentPath, f.name), 'utf8'))
    .join('\n');
}

describe('audit decisions in the route table', () => {
  it('every state-changing route of a person or an integration has one; no read has one', () => {
    const missing = routes.filter(([k, r]) => splitRoute(k)[0] !== 'GET' && r.auth !== 'agent' && !r.audit).map(([k]) => k);
    expect(missing, 'state-changing routes without an audit decision: add `audit` to their entry in config/api.ts').toEqual([]);
    expect(routes.filter(([k, r]) => splitRoute(k)[0] === 'GET' && r.audit).map(([k]) => k)).toEqual([]);
  });

  it('the actions a module records are written in the server code', () => {
    const code = sources('server');
    const declared = routes.flatMap(([, r]) => (r.audit && 'recordedBy' in r.audit ? r.audit.actions : []));
    expect(declared.length).toBeGreaterThan(10);
    expect(declared.filter((a) => !code.includes(`'${a}'`))).toEqual([]);
  });

  it('the middleware records the others, each from its own route, literal paths before parameters', () => {
    expect(ACTIONS.map((a) => a.action).sort()).toEqual(['incident.ack', 'incident.note', 'maintenance.add', 'maintenance.remove', 'report.request']);
    const which = (method: string, path: string) => ACTIONS.find((a) => a.method === method && a.path.test(path))?.action;
    expect(which('POST', '/api/incidents/maintenance')).toBe('maintenance.add');
    expect(which('DELETE', '/api/incidents/maintenance/mw-1')).toBe('maintenance.remove');
    expect(which('POST', '/api/incidents/inc-1/ack')).toBe('incident.ack');
    expect(which('POST', '/api/incidents/inc-1/notes')).toBe('incident.note');
    expect(which('POST', '/api/reports')).toBe('report.request');
    expect(which('GET', '/api/incidents/inc-1')).toBeUndefined();
  });
});
