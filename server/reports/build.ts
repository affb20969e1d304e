// The data layer behind the runner: a report request -> its model, computed from the store
// (server/reports/data/*). Kept apart so the runner and its tests can take any builder.
import type { ReportsConfig } from '../../config/schema.ts';
import type { Directory } from '../directory.ts';
import type { Store } from '../stores/types.ts';
import { buildCarrierReport } from './data/carrier.ts';
import { buildDostReport } from './data/dost.ts';
import { previousPeriod } from './data/periods.ts';
import type { Report } from './model.ts';
import type { ReportBuilder, ReportRequest } from './runner.ts';

type Kind = ReportRequest['kind'];
type Build<K extends Kind> = (req: Extract<ReportRequest, { kind: K }>) => Promise<Report>;

export function storeBuilder(store: Store, dir: Directory, cfg: Pick<ReportsConfig, 'deadZone' | 'green' | 'qcvn'>, now: () => number = Date.now): ReportBuilder {
  const period = (p: ReportRequest['period']) => ({ from: p.from, to: p.to, label: p.label });
  const byKind = {
    carrier: (req) => buildCarrierReport(store, dir, req.carrier, period(req.period), cfg.deadZone, now(), { qcvn: cfg.qcvn }),
    dost: (req) => buildDostReport(store, dir, period(req.period), previousPeriod(req.period), cfg.green, req.scope, now()),
  } satisfies { [K in Kind]: Build<K> };
  return (req) => (byKind[req.kind] as Build<Kind>)(req);
}
