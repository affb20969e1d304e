// Generates config/provinces/<code>.json (communes + boundaries) from the shared vn-admin data.
//   npm run gen:provinces                          -> 51 (Quảng Ngãi) and 44 (Quảng Trị), detailed boundaries
//   npm run gen:provinces -- --province 46         -> any province, boundaries from the whole-country TopoJSON
//   options: --province <code> (repeatable), --out <dir> (default config/provinces), --topojson (force the
//            whole-country TopoJSON even where a detailed per-province GeoJSON exists)
//   env: VN_ADMIN_DIR (default ../shared/data/vn-admin, relative to the repo root)
// Output is deterministic (no timestamps), so a test can regenerate and compare byte for byte.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { provinceFileSchema, type ProvinceCommune, type ProvinceFile } from './schema.ts';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DEFAULT_PROVINCES = ['51', '44'];
/** Counts stated in the data's SOURCE.md; a mismatch means the shared data changed under us. */
const EXPECTED_COUNTS: Record<string, number> = { '51': 96, '44': 78 };
const COMMUNES_CSV = 'vn_communes_2025.csv';
const PROVINCES_CSV = 'vn_provinces_2025.csv';
const TOPOJSON = 'vn_communes_2025_simplified.topojson';
const DETAILED_GEOJSON = /^[a-z_]+_(\d{2})_communes_simplified\.geojson$/;

type Position = [number, number];
type Ring = Position[];
type Geometry = { type: 'Polygon'; coordinates: Ring[] } | { type: 'MultiPolygon'; coordinates: Ring[][] };
type Row = Record<string, string>;

class GenError extends Error {}
const fail = (msg: string): never => {
  throw new GenError(msg);
};

// ---------------------------------------------------------------- CSV (RFC 4180: quotes, "" escapes, CRLF)

export function parseCsv(text: string): Row[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // BOM
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') field += text[i++];
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') (row.push(field), (field = ''));
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field), (field = '');
      rows.push(row), (row = []);
    } else field += c;
  }
  if (quoted) fail('CSV ends inside a quoted field');
  if (field !== '' || row.length) (row.push(field), rows.push(row));
  const [header, ...body] = rows.filter((r) => !(r.length === 1 && r[0] === ''));
  if (!header) return [];
  return body.map((r, n) => {
    if (r.length !== header.length) fail(`CSV row ${n + 2}: ${r.length} fields, header has ${header.length}`);
    return Object.fromEntries(header.map((h, k) => [h, r[k] ?? '']));
  });
}

const num = (row: Row, key: string): number => {
  const v = Number(row[key]);
  if (row[key] === undefined || row[key] === '' || !Number.isFinite(v)) fail(`field ${key} is not a number in ${JSON.stringify(row)}`);
  return v;
};
const str = (row: Row, key: string): string => row[key] ?? fail(`missing field ${key}`);

// ---------------------------------------------------------------- geometry

const round5 = (n: number) => Math.round(n * 1e5) / 1e5;

/** Rounds to 1e-5° and drops the repeated vertices that rounding makes; null if the ring collapses. */
function cleanRing(ring: Ring): Ring | null {
  const out: Ring = [];
  for (const [x, y] of ring) {
    const p: Position = [round5(x), round5(y)];
    const last = out[out.length - 1];
    if (!last || last[0] !== p[0] || last[1] !== p[1]) out.push(p);
  }
  const first = out[0];
  const last = out[out.length - 1];
  if (first && last && (first[0] !== last[0] || first[1] !== last[1])) out.push([first[0], first[1]]);
  return out.length >= 4 ? out : null;
}

/** An outer ring that collapses drops its polygon; a collapsed hole is just dropped. */
function cleanPolygon(rings: Ring[]): Ring[] | null {
  const [outer, ...holes] = rings;
  const o = outer && cleanRing(outer);
  if (!o) return null;
  return [o, ...holes.map(cleanRing).filter((r): r is Ring => r !== null)];
}

function cleanGeometry(g: Geometry, code: string): Geometry {
  if (g.type === 'Polygon') {
    const p = cleanPolygon(g.coordinates);
    return p ? { type: 'Polygon', coordinates: p } : fail(`commune ${code}: polygon collapsed after rounding`);
  }
  const ps = g.coordinates.map(cleanPolygon).filter((p): p is Ring[] => p !== null);
  if (!ps.length) fail(`commune ${code}: every polygon collapsed after rounding`);
  return { type: 'MultiPolygon', coordinates: ps };
}

const polygonsOf = (g: Geometry): Ring[][] => (g.type === 'Polygon' ? [g.coordinates] : g.coordinates);

/** Even-odd ray cast over a polygon's rings (outer + holes). */
function inPolygon([x, y]: Position, rings: Ring[]): boolean {
  let inside = false;
  for (const ring of rings)
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i]!;
      const [xj, yj] = ring[j]!;
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
  return inside;
}

// ---------------------------------------------------------------- TopoJSON (quantized, delta-encoded arcs)

interface TopoGeometry {
  type: string;
  arcs?: number[][] | number[][][];
  properties?: Record<string, unknown>;
}
interface Topology {
  type: 'Topology';
  transform?: { scale: [number, number]; translate: [number, number] };
  arcs: [number, number][][];
  objects: Record<string, { type: string; geometries?: TopoGeometry[] }>;
}

/** Absolute lon/lat of every arc: positions are deltas of quantized integers when `transform` is set. */
function decodeArcs(topo: Topology): Position[][] {
  const t = topo.transform;
  return topo.arcs.map((arc) => {
    let x = 0;
    let y = 0;
    return arc.map(([dx, dy]): Position => {
      if (!t) return [dx, dy];
      x += dx;
      y += dy;
      return [x * t.scale[0] + t.translate[0], y * t.scale[1] + t.translate[1]];
    });
  });
}

/** A ring is a list of arc indexes; ~i means arc i reversed. Consecutive arcs share their joint vertex. */
function stitchRing(indexes: number[], arcs: Position[][]): Ring {
  const ring: Ring = [];
  for (const i of indexes) {
    const arc = arcs[i < 0 ? ~i : i] ?? fail(`TopoJSON arc ${i} out of range`);
    const pts = i < 0 ? [...arc].reverse() : arc;
    ring.push(...(ring.length ? pts.slice(1) : pts));
  }
  return ring;
}

function topoGeometry(g: TopoGeometry, arcs: Position[][]): Geometry {
  if (g.type === 'Polygon') return { type: 'Polygon', coordinates: (g.arcs as number[][]).map((r) => stitchRing(r, arcs)) };
  if (g.type === 'MultiPolygon')
    return { type: 'MultiPolygon', coordinates: (g.arcs as number[][][]).map((p) => p.map((r) => stitchRing(r, arcs))) };
  return fail(`unsupported TopoJSON geometry type ${g.type}`);
}

// ---------------------------------------------------------------- sources

interface Boundary {
  geometry: Geometry;
  fullName: string;
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

function boundariesFromGeoJson(file: string, province: string): Map<string, Boundary> {
  const fc = readJson<{ features: { geometry: Geometry; properties: Record<string, unknown> }[] }>(file);
  const out = new Map<string, Boundary>();
  for (const f of fc.features) {
    if (String(f.properties.province_code) !== province) fail(`${file}: feature of province ${String(f.properties.province_code)}`);
    const code = String(f.properties.ward_code);
    if (out.has(code)) fail(`${file}: duplicate feature ${code}`);
    out.set(code, { geometry: f.geometry, fullName: String(f.properties.ward_full_name) });
  }
  return out;
}

function boundariesFromTopoJson(file: string, province: string): Map<string, Boundary> {
  const topo = readJson<Topology>(file);
  const geometries = topo.objects.communes?.geometries ?? fail(`${file}: no GeometryCollection named "communes"`);
  const arcs = decodeArcs(topo);
  const out = new Map<string, Boundary>();
  for (const g of geometries) {
    if (String(g.properties?.province_code) !== province) continue;
    const code = String(g.properties?.ward_code);
    if (out.has(code)) fail(`${file}: duplicate geometry ${code}`);
    out.set(code, { geometry: topoGeometry(g, arcs), fullName: String(g.properties?.ward_full_name) });
  }
  return out;
}

export interface GenerateOptions {
  dataDir: string;
  /** use the whole-country TopoJSON even if a detailed per-province file exists */
  forceTopoJson?: boolean;
}

export function generateProvince(code: string, { dataDir, forceTopoJson = false }: GenerateOptions): { file: ProvinceFile; warnings: string[] } {
  const warnings: string[] = [];
  const provinces = parseCsv(readFileSync(path.join(dataDir, PROVINCES_CSV), 'utf8'));
  const prov = provinces.find((p) => p.province_code === code) ?? fail(`province ${code} is not in ${PROVINCES_CSV}`);
  const rows = parseCsv(readFileSync(path.join(dataDir, COMMUNES_CSV), 'utf8')).filter((r) => r.province_code === code);

  const expected = EXPECTED_COUNTS[code] ?? num(prov, 'commune_count');
  if (rows.length !== expected) fail(`province ${code}: ${rows.length} communes in ${COMMUNES_CSV}, expected ${expected}`);
  if (num(prov, 'commune_count') !== expected) fail(`province ${code}: ${PROVINCES_CSV} says ${prov.commune_count} communes, expected ${expected}`);

  const detailed = readdirSync(dataDir).find((f) => DETAILED_GEOJSON.exec(f)?.[1] === code);
  const geoFile = detailed && !forceTopoJson ? detailed : TOPOJSON;
  const shapes =
    geoFile === TOPOJSON
      ? boundariesFromTopoJson(path.join(dataDir, TOPOJSON), code)
      : boundariesFromGeoJson(path.join(dataDir, geoFile), code);

  // Both directions: every CSV commune has a polygon, every polygon is a CSV commune.
  const csvCodes = new Set(rows.map((r) => str(r, 'ward_code')));
  const noShape = [...csvCodes].filter((c) => !shapes.has(c));
  const noRow = [...shapes.keys()].filter((c) => !csvCodes.has(c));
  if (noShape.length) fail(`province ${code}: no polygon in ${geoFile} for ${noShape.join(', ')}`);
  if (noRow.length) fail(`province ${code}: polygons in ${geoFile} not in ${COMMUNES_CSV}: ${noRow.join(', ')}`);
  if (csvCodes.size !== rows.length) fail(`province ${code}: duplicate ward_code in ${COMMUNES_CSV}`);

  const communes: ProvinceCommune[] = rows
    .map((r): ProvinceCommune => {
      const c = str(r, 'ward_code');
      const shape = shapes.get(c)!;
      if (shape.fullName !== r.ward_full_name) fail(`commune ${c}: name "${shape.fullName}" in ${geoFile}, "${r.ward_full_name}" in CSV`);
      const geometry = cleanGeometry(shape.geometry, c);
      const label: Position = [num(r, 'label_lon'), num(r, 'label_lat')];
      // Labels were computed on full-resolution polygons; simplification can move an edge past one.
      if (!polygonsOf(geometry).some((p) => inPolygon(label, p))) warnings.push(`commune ${c} ${r.ward_full_name}: label point outside its simplified polygon`);
      return {
        code: c,
        name: str(r, 'ward_name'),
        fullName: str(r, 'ward_full_name'),
        type: str(r, 'unit_type') as ProvinceCommune['type'],
        label,
        centroid: [num(r, 'centroid_lon'), num(r, 'centroid_lat')],
        areaKm2: num(r, 'area_km2'),
        geometry,
      };
    })
    .sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));

  const bbox: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const c of communes)
    for (const [x, y] of [...polygonsOf(c.geometry as Geometry).flat(2), c.label]) {
      bbox[0] = Math.min(bbox[0], x);
      bbox[1] = Math.min(bbox[1], y);
      bbox[2] = Math.max(bbox[2], x);
      bbox[3] = Math.max(bbox[3], y);
    }

  const file = provinceFileSchema.parse({
    code,
    name: str(prov, 'province_name'),
    fullName: str(prov, 'province_full_name'),
    source:
      `Generated by config/generate-provinces.ts from the shared vn-admin data (${COMMUNES_CSV}, ${PROVINCES_CSV}, ${geoFile}; see its SOURCE.md). ` +
      'Codes, names, unit types, label points and boundaries: thanglequoc/vietnamese-provinces-database @ cd58063 (MIT, (c) 2021 Thang Le Quoc), ' +
      'whose names/codes come from the GSO/NSO service and whose boundaries derive from the sapnhap.bando.com.vn reference map ' +
      '(no explicit open licence from that publisher: a reference map, not legally authoritative boundaries); ' +
      'cross-checked against Công văn 1027/CTK-CSCL via dvhcvn/20250701 (MIT, (c) 2025 dvhcvn). ' +
      (geoFile === TOPOJSON ? 'Boundaries simplified with mapshaper to 10 % of vertices, quantized 1e5.' : 'Boundaries simplified with mapshaper to 15 % of vertices, 1e-5° precision.'),
    bbox,
    communes,
  });
  return { file, warnings };
}

// ---------------------------------------------------------------- CLI

function main(): void {
  const { values } = parseArgs({
    options: {
      province: { type: 'string', multiple: true },
      out: { type: 'string' },
      topojson: { type: 'boolean', default: false },
    },
  });
  const dataDir = process.env.VN_ADMIN_DIR ? path.resolve(process.env.VN_ADMIN_DIR) : path.resolve(REPO_ROOT, '../shared/data/vn-admin');
  if (!existsSync(path.join(dataDir, COMMUNES_CSV)))
    fail(`vn-admin data not found: ${path.join(dataDir, COMMUNES_CSV)} is missing. Set VN_ADMIN_DIR to the folder holding ${COMMUNES_CSV} (default: ../shared/data/vn-admin next to the repo).`);
  const outDir = path.resolve(values.out ?? path.join(REPO_ROOT, 'config/provinces'));
  mkdirSync(outDir, { recursive: true });
  for (const code of values.province ?? DEFAULT_PROVINCES) {
    if (!/^\d{2}$/.test(code)) fail(`--province expects a 2-digit code, got "${code}"`);
    const { file, warnings } = generateProvince(code, { dataDir, forceTopoJson: values.topojson });
    for (const w of warnings) console.warn(`warning: ${w}`);
    const target = path.join(outDir, `${code}.json`);
    const json = JSON.stringify(file) + '\n';
    writeFileSync(target, json);
    console.log(`${target}: ${file.fullName}, ${file.communes.length} communes, ${(Buffer.byteLength(json) / 1024).toFixed(0)} KiB`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (e) {
    if (!(e instanceof GenError)) throw e;
    console.error(`gen:provinces: ${e.message}`);
    process.exit(1);
  }
}
