// The committed province files against the shared vn-admin CSV, read here independently of the generator.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { provinceFileSchema, type ProvinceFile } from '../../config/schema.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DATA = process.env.VN_ADMIN_DIR ? path.resolve(process.env.VN_ADMIN_DIR) : path.resolve(ROOT, '../shared/data/vn-admin');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const GENERATOR = path.join(ROOT, 'config/generate-provinces.ts');
const haveData = existsSync(path.join(DATA, 'vn_communes_2025.csv'));
if (!haveData) {
  const msg = `vn-admin data missing at ${DATA}: set VN_ADMIN_DIR to the shared data folder`;
  if (process.env.CI === 'true') throw new Error(msg);
  console.warn(`SKIP provinces tests: ${msg}`);
}

type Pos = [number, number];
type Geometry = { type: 'Polygon'; coordinates: Pos[][] } | { type: 'MultiPolygon'; coordinates: Pos[][][] };

/** Quote-aware CSV reader (deliberately not the generator's). */
function readCsv(file: string): Record<string, string>[] {
  const lines = readFileSync(file, 'utf8').replace(/^\uFEFF/, '').split(/\r?\n/).filter(Boolean);
  const split = (line: string) => [...line.matchAll(/(?:^|,)(?:"((?:[^"]|"")*)"|([^,]*))/g)].map((m) => (m[1] !== undefined ? m[1].replaceAll('""', '"') : (m[2] ?? '')));
  const header = split(lines[0]!);
  return lines.slice(1).map((l) => Object.fromEntries(split(l).map((v, i) => [header[i], v])));
}

function pointInRings([x, y]: Pos, rings: Pos[][]): boolean {
  let inside = false;
  for (const ring of rings)
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i]!;
      const [xj, yj] = ring[j]!;
      if (yi > y !== yj > y && x < xi + ((y - yi) * (xj - xi)) / (yj - yi)) inside = !inside;
    }
  return inside;
}
const polygons = (g: Geometry): Pos[][][] => (g.type === 'Polygon' ? [g.coordinates] : g.coordinates);
const inside = (p: Pos, g: Geometry) => polygons(g).some((rings) => pointInRings(p, rings));
const ringArea = (r: Pos[]) => Math.abs(r.reduce((s, [x, y], i) => { const [x2, y2] = r[(i + 1) % r.length]!; return s + x * y2 - x2 * y; }, 0)) / 2;
const area = (g: Geometry) => polygons(g).reduce((s, [outer, ...holes]) => s + ringArea(outer!) - holes.reduce((h, r) => h + ringArea(r), 0), 0);

const csv = haveData ? readCsv(path.join(DATA, 'vn_communes_2025.csv')) : [];
const provincesCsv = haveData ? readCsv(path.join(DATA, 'vn_provinces_2025.csv')) : [];
const load = (file: string): ProvinceFile => provinceFileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));

const tmp = mkdtempSync(path.join(tmpdir(), 'ioc-provinces-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!haveData).each([
  { code: '51', name: 'Quảng Ngãi', count: 96, special: ['21548', 'Đặc khu Lý Sơn'] },
  { code: '44', name: 'Quảng Trị', count: 78, special: ['19742', 'Đặc khu Cồn Cỏ'] },
])('province file $code, $name', ({ code, name, count, special }) => {
  const file = path.join(ROOT, 'config/provinces', `${code}.json`);
  const p = load(file);
  const rows = csv.filter((r) => r.province_code === code);
  const byCode = new Map(rows.map((r) => [r.ward_code!, r]));

  it('has the province name and the CSV count', () => {
    expect(p.code).toBe(code);
    expect(p.name).toBe(name);
    expect(p.fullName).toBe(`Tỉnh ${name}`);
    expect(p.source).toMatch(/vn-admin/);
    expect(p.source).toMatch(/MIT/);
    expect(rows).toHaveLength(count);
    expect(p.communes).toHaveLength(count);
  });

  it('has 5-digit unique codes, sorted, exactly the CSV set', () => {
    const codes = p.communes.map((c) => c.code);
    for (const c of codes) expect(c).toMatch(/^\d{5}$/);
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes).toEqual([...codes].sort());
    expect(new Set(codes)).toEqual(new Set(byCode.keys()));
  });

  it('keeps names, types, points and areas of the CSV, with diacritics', () => {
    for (const c of p.communes) {
      const r = byCode.get(c.code)!;
      expect({ name: c.name, fullName: c.fullName, type: c.type }).toEqual({ name: r.ward_name, fullName: r.ward_full_name, type: r.unit_type });
      expect(c.label).toEqual([Number(r.label_lon), Number(r.label_lat)]);
      expect(c.centroid).toEqual([Number(r.centroid_lon), Number(r.centroid_lat)]);
      expect(c.areaKm2).toBe(Number(r.area_km2));
    }
    expect(p.communes.find((c) => c.code === special[0])?.fullName).toBe(special[1]);
  });

  it('puts every label point inside its own polygon, and rounds coordinates to 5 decimals', () => {
    const outside = p.communes.filter((c) => !inside(c.label, c.geometry as Geometry)).map((c) => `${c.code} ${c.fullName}`);
    expect(outside).toEqual([]);
    const unrounded = p.communes.flatMap((c) => polygons(c.geometry as Geometry).flat(2).filter((xy) => xy.some((v) => Math.round(v * 1e5) / 1e5 !== v)).map((xy) => `${c.code} ${xy.join(',')}`));
    expect(unrounded).toEqual([]);
  });

  it('has closed rings and a bbox that encloses every label and vertex', () => {
    const [minX, minY, maxX, maxY] = p.bbox;
    const problems: string[] = [];
    for (const c of p.communes) {
      for (const [x, y] of [c.label, ...polygons(c.geometry as Geometry).flat(2)])
        if (!(x >= minX && x <= maxX && y >= minY && y <= maxY)) problems.push(`${c.code} (${x}, ${y}) outside bbox`);
      for (const ring of polygons(c.geometry as Geometry).flat()) {
        const [a, z] = [ring[0]!, ring[ring.length - 1]!];
        if (ring.length < 4 || a[0] !== z[0] || a[1] !== z[1]) problems.push(`${c.code}: open or degenerate ring`);
      }
    }
    expect(problems).toEqual([]);
    // The province's own bbox from the CSV rows (full-resolution) and ours agree within simplification error.
    const csvBox = [Math.min(...rows.map((r) => +r.bbox_min_lon!)), Math.min(...rows.map((r) => +r.bbox_min_lat!)), Math.max(...rows.map((r) => +r.bbox_max_lon!)), Math.max(...rows.map((r) => +r.bbox_max_lat!))];
    p.bbox.forEach((v, i) => expect(Math.abs(v - csvBox[i]!)).toBeLessThan(0.01));
  });
});

describe.skipIf(!haveData)('npm run gen:provinces', () => {
  it('regenerates the committed files byte for byte', async () => {
    const out = path.join(tmp, 'detailed');
    await run(TSX, [GENERATOR, '--out', out], { cwd: ROOT, env: { ...process.env, VN_ADMIN_DIR: DATA }, timeout: 60_000 });
    for (const code of ['51', '44'])
      expect(readFileSync(path.join(out, `${code}.json`), 'utf8'), `config/provinces/${code}.json is stale: run npm run gen:provinces`).toBe(
        readFileSync(path.join(ROOT, 'config/provinces', `${code}.json`), 'utf8'),
      );
  }, 60_000);

  it('decodes the whole-country TopoJSON: Huế complete, Quảng Ngãi close to its detailed file', async () => {
    const out = path.join(tmp, 'topo');
    await run(TSX, [GENERATOR, '--topojson', '--province', '46', '--province', '51', '--out', out], { cwd: ROOT, env: { ...process.env, VN_ADMIN_DIR: DATA }, timeout: 60_000 });
    const hue = load(path.join(out, '46.json'));
    const expected = Number(provincesCsv.find((r) => r.province_code === '46')?.commune_count);
    expect(hue.communes).toHaveLength(expected);
    expect(new Set(hue.communes.map((c) => c.code))).toEqual(new Set(csv.filter((r) => r.province_code === '46').map((r) => r.ward_code)));
    expect(hue.communes.filter((c) => !inside(c.label, c.geometry as Geometry)).map((c) => c.code)).toEqual([]);

    // A wrong delta decode or arc reversal distorts shapes; same-unit areas must match the detailed polygons.
    const topo = load(path.join(out, '51.json'));
    const detailed = new Map(load(path.join(ROOT, 'config/provinces/51.json')).communes.map((c) => [c.code, c]));
    for (const c of topo.communes) {
      const ratio = area(c.geometry as Geometry) / area(detailed.get(c.code)!.geometry as Geometry);
      expect(Math.abs(1 - ratio), c.code).toBeLessThan(0.02);
    }
  }, 60_000);

  it('fails with a clear message when the data folder is missing', async () => {
    const err = await run(TSX, [GENERATOR, '--out', path.join(tmp, 'none')], {
      cwd: ROOT,
      env: { ...process.env, VN_ADMIN_DIR: path.join(tmp, 'no-such-dir') },
      timeout: 30_000,
    }).catch((e: { code: number; stderr: string }) => e);
    expect('code' in err && err.code).toBe(1);
    expect(err.stderr).toMatch(/vn-admin data not found.*VN_ADMIN_DIR/);
  }, 30_000);
});
