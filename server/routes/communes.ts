import { Hono } from 'hono';
import type { Directory } from '../directory.ts';
import type { LiveState } from '../state/live-state.ts';

export function communeRoutes(dir: Directory, live: LiveState) {
  const withNames = (code: string) => {
    const c = dir.communes.get(code)!;
    return { name: c.name, fullName: c.fullName, type: c.type, ...live.commune(code) };
  };
  return new Hono()
    .get('/', (c) => c.json([...dir.communes.keys()].map(withNames)))
    .get('/:code', (c) => {
      const code = c.req.param('code');
      if (!dir.communes.has(code)) return c.json({ error: `no commune with code "${code}" in this province` }, 404);
      return c.json(withNames(code));
    });
}
