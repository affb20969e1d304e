// Equirectangular projection scaled by cos(mid-latitude): at a province's size (a few degrees) this keeps
// shapes visually right without a projection library, and it is trivially testable.
export type BBox = readonly [minLon: number, minLat: number, maxLon: number, maxLat: number];
export type Position = readonly [number, number] | readonly number[];

export interface Projection {
  /** SVG user units */
  width: number;
  height: number;
  /** "minX minY width height", padding included */
  viewBox: string;
  project(lon: number, lat: number): [number, number];
}

export interface Geometry {
  type: 'Polygon' | 'MultiPolygon';
  // GeoJSON nesting: Polygon = rings[] of positions[]; MultiPolygon = polygons[] of those.
  coordinates: unknown[];
}

/**
 * Fit a bbox into a box `width` units wide; height follows from the aspect ratio so nothing is stretched.
 * `pad` is added around in the viewBox (same units).
 */
export function makeProjection(bbox: BBox, width = 1000, pad = 8): Projection {
  const [minLon, minLat, maxLon, maxLat] = bbox;
  if (!(maxLon > minLon) || !(maxLat > minLat)) throw new Error(`bad bbox ${JSON.stringify(bbox)}`);
  const midLat = ((minLat + maxLat) / 2) * (Math.PI / 180);
  const kx = Math.cos(midLat);
  const k = width / ((maxLon - minLon) * kx);
  const height = (maxLat - minLat) * k;
  return {
    width,
    height,
    viewBox: `${-pad} ${-pad} ${round1(width + 2 * pad)} ${round1(height + 2 * pad)}`,
    project(lon, lat) {
      return [(lon - minLon) * kx * k, (maxLat - lat) * k];
    },
  };
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

function isPosition(p: unknown): p is Position {
  return Array.isArray(p) && typeof p[0] === 'number' && typeof p[1] === 'number';
}

/** The polygons of a geometry as arrays of rings (outer ring first). Malformed parts are skipped. */
export function polygonsOf(g: Geometry): Position[][][] {
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  const out: Position[][][] = [];
  for (const poly of polys) {
    if (!Array.isArray(poly)) continue;
    const rings: Position[][] = [];
    for (const ring of poly) {
      if (Array.isArray(ring) && ring.length >= 3 && ring.every(isPosition)) rings.push(ring as Position[]);
    }
    if (rings.length) out.push(rings);
  }
  return out;
}

/** SVG path data for a Polygon/MultiPolygon: one closed subpath per ring (use fill-rule evenodd for holes). */
export function geometryToPath(g: Geometry, proj: Projection): string {
  let d = '';
  for (const rings of polygonsOf(g)) {
    for (const ring of rings) {
      let prev = '';
      let n = 0;
      let sub = '';
      for (const pos of ring) {
        const [x, y] = proj.project(pos[0] as number, pos[1] as number);
        const pt = `${round1(x)} ${round1(y)}`;
        if (pt === prev) continue; // collapsed by rounding
        sub += (n === 0 ? 'M' : 'L') + pt;
        prev = pt;
        n++;
      }
      if (n >= 3) d += sub + 'Z';
    }
  }
  return d;
}

/** Bounding box of a set of geometries (fallback when a province file's bbox is missing or wrong). */
export function bboxOf(geoms: Iterable<Geometry>): BBox | null {
  let minLon = Infinity;
  let minLat = Infinity;
  let maxLon = -Infinity;
  let maxLat = -Infinity;
  for (const g of geoms) {
    for (const rings of polygonsOf(g)) {
      for (const ring of rings) {
        for (const p of ring) {
          const lon = p[0] as number;
          const lat = p[1] as number;
          if (lon < minLon) minLon = lon;
          if (lon > maxLon) maxLon = lon;
          if (lat < minLat) minLat = lat;
          if (lat > maxLat) maxLat = lat;
        }
      }
    }
  }
  return Number.isFinite(minLon) && maxLon > minLon && maxLat > minLat ? [minLon, minLat, maxLon, maxLat] : null;
}

/** The province bbox if it covers every commune, else one computed from the geometries. */
export function fitBBox(declared: BBox | null | undefined, geoms: Geometry[]): BBox | null {
  const computed = bboxOf(geoms);
  if (!declared || !(declared[2] > declared[0]) || !(declared[3] > declared[1])) return computed;
  if (!computed) return declared;
  const eps = 1e-6;
  const covers =
    declared[0] <= computed[0] + eps &&
    declared[1] <= computed[1] + eps &&
    declared[2] >= computed[2] - eps &&
    declared[3] >= computed[3] - eps;
  return covers ? declared : computed;
}
