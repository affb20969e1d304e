// Reference data every page needs, loaded once per login: the province (boundaries, names), targets and carriers.
import type { CarrierInfo, TargetInfo } from '../../../config/api.ts';
import type { ProvinceCommune, ProvinceFile } from '../../../config/schema.ts';
import { call } from './api.ts';
import type { NameLookup } from './incidents.ts';

export class Catalog {
  province = $state.raw<ProvinceFile | null>(null);
  loadError = $state<string | null>(null);
  targets = $state.raw<Map<string, TargetInfo>>(new Map());
  carriers = $state.raw<Map<string, CarrierInfo>>(new Map());

  communes = $derived(new Map<string, ProvinceCommune>((this.province?.communes ?? []).map((c) => [c.code, c])));

  /** Arrow functions so they can be handed to components and stay reactive. */
  communeName = (code: string): string => this.communes.get(code)?.fullName ?? code;
  carrierName = (id: string | null): string => (id ? (this.carriers.get(id)?.name ?? id) : '—');
  targetName = (id: string): string => this.targets.get(id)?.name ?? id;
  readonly names: NameLookup = {
    commune: (c) => this.communeName(c),
    carrier: (c) => this.carrierName(c),
    target: (t) => this.targetName(t),
  };

  async loadProvince(onLoaded?: (p: ProvinceFile) => void): Promise<void> {
    this.loadError = null;
    try {
      const p = await call('GET /api/province');
      onLoaded?.(p);
      this.province = p;
    } catch (e) {
      this.loadError = (e as Error).message;
    }
  }

  async loadNames(): Promise<void> {
    // Names only: everything works without them (ids are shown), so failures here are not fatal.
    const [ts, cs] = await Promise.allSettled([call('GET /api/targets'), call('GET /api/carriers')]);
    if (ts.status === 'fulfilled') this.targets = new Map(ts.value.map((x) => [x.id, x]));
    if (cs.status === 'fulfilled') this.carriers = new Map(cs.value.map((x) => [x.id, x]));
  }
}
