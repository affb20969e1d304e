import { Hono } from 'hono';
import type { ApiResponseIn } from '../../config/api.ts';
import type { Directory } from '../directory.ts';

/** Reference data for the map: boundaries, targets, carriers. Targets and carriers follow a config reload. */
export function provinceRoutes(dir: Directory) {
  const targets = (): ApiResponseIn<'GET /api/targets'> => [...dir.targets.values()].map((t) => ({ id: t.id, name: t.name, kind: t.kind }));
  const carriers = (): ApiResponseIn<'GET /api/carriers'> => [...dir.carriers.values()];
  // serialised once: the boundaries are a few MB and never change while the server runs
  const province = JSON.stringify(dir.province satisfies ApiResponseIn<'GET /api/province'>);
  return new Hono()
    .get('/province', (c) => {
      c.header('content-type', 'application/json; charset=utf-8');
      c.header('cache-control', 'private, max-age=300');
      return c.body(province);
    })
    .get('/targets', (c) => c.json(targets()))
    .get('/carriers', (c) => c.json(carriers()));
}
