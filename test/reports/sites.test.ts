// Reports name the site: a school's outage, stored with its site on both stores, is listed in the DOST report's
// incident table under the school's name next to its commune; an incident stored without sites is listed as before.
import { expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { buildDirectory } from '../../server/directory.ts';
import type { Incident } from '../../server/incidents/types.ts';
import { buildDostReport } from '../../server/reports/data/dost.ts';
import type { GreenDefinition, Period } from '../../server/reports/model.ts';
import { csvText } from '../../server/reports/render/csv.ts';
import { layout } from '../../server/reports/render/document.ts';
import { describeStores, incident } from '../helpers/stores.ts';
import { BA_TO, CAM_THANH, province } from './fixtures.ts';

const H = 3_600_000;
const vn = (y: number, mo: number, d: number, h = 0) => Date.UTC(y, mo - 1, d, h) - 7 * H;
const OCT: Period = { from: vn(2026, 10, 1), to: vn(2026, 11, 1), label: 'Tháng 10/2026' };
const SEP: Period = { from: vn(2026, 9, 1), to: vn(2026, 10, 1), label: 'Tháng 9/2026' };
const GREEN: GreenDefinition = { minUptimePct: 99, maxOutageMin: 240, maxIncidents: 2 };
const HASH = 'scrypt$1024$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNo';
const uplinks = [{ name: 'wan0', carrier: 'vnpt', gateway: '192.0.2.1' }];
const config = configSchema.parse({
  province: { code: '51' },
  carriers: [{ id: 'vnpt', name: 'VNPT' }],
  targets: [{ id: 'portal', name: 'Cổng dịch vụ công', kind: 'http', url: 'https://dichvucong.gov.vn/' }],
  agents: [
    { id: 'ba-to', commune: BA_TO, tokenHash: HASH, uplinks },
    { id: 'ba-to-thcs', commune: BA_TO, site: { name: 'Trường THCS Ba Tơ', kind: 'school' }, tokenHash: HASH, uplinks },
    { id: 'cam-thanh', commune: CAM_THANH, tokenHash: HASH, uplinks },
  ],
});
const dir = buildDirectory(config, province);
const school = { agent: 'ba-to-thcs', commune: BA_TO, name: 'Trường THCS Ba Tơ', kind: 'school' as const };

describeStores('reports name the site', 'report-sites', (h) => {
  it("a school's outage is reported under the school's name; an incident without sites as before", async () => {
    const store = await h.open();
    const local = { ...incident({ id: 'local_link:21484:1', cause: 'local_link', subject: BA_TO, openedAt: vn(2026, 10, 3, 8), resolvedAt: vn(2026, 10, 3, 10), communes: [BA_TO] }), sites: [school] } as Incident;
    const old = incident({ id: 'agent:21025:1', cause: 'agent', subject: CAM_THANH, openedAt: vn(2026, 10, 5, 8), resolvedAt: vn(2026, 10, 5, 9), communes: [CAM_THANH] }) as Incident;
    await store.writeIncident(local);
    await store.writeIncident(old);
    const r = await buildDostReport(store, dir, OCT, SEP, GREEN, {}, vn(2026, 11, 2));
    expect(r.incidents.map((i) => [i.id, i.sites])).toEqual([
      ['local_link:21484:1', [school]],
      ['agent:21025:1', undefined],
    ]);
    const doc = layout(r, { province });
    const table = doc.tables.find((t) => t.sheet === 'Sự cố')!;
    const col = table.columns.findIndex((c) => c.header === 'Xã/phường bị ảnh hưởng');
    expect(table.rows.map((row) => row[col])).toEqual(['Xã Ba Tơ — Trường THCS Ba Tơ', 'Phường Cẩm Thành']);
    expect(csvText(doc)).toContain('Xã Ba Tơ — Trường THCS Ba Tơ');
  });
});
