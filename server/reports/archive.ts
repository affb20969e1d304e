// Generated reports on disk: <dataDir>/reports/<id>/<file> plus one JSON index (<dataDir>/reports/index.json)
// that the UI lists. The index is rewritten whole (temp file + rename) on every change: it holds a few hundred
// entries a year, and a crash mid-write then leaves the previous index, never half of one.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReportFormat } from '../../config/schema.ts';
import type { ReportKind } from './model.ts';
import { vnParts } from './render/format.ts';

export type PeriodType = 'week' | 'month' | 'custom';
export type ReportStatus = 'queued' | 'running' | 'retrying' | 'done' | 'failed';
export type DeliveryStatus = 'none' | 'pending' | 'sent' | 'failed';

export interface ArchivedFile {
  /** Vietnamese download name */
  name: string;
  /** ASCII name, also the file name on disk */
  asciiName: string;
  contentType: string;
  bytes: number;
}

export interface ArchiveEntry {
  /** also the job id of the generation */
  id: string;
  kind: ReportKind;
  /** carrier reports: the carrier id; DOST: null */
  carrier: string | null;
  /** DOST report limited to one commune / one service */
  scope: { commune?: string; target?: string };
  period: { type: PeriodType; from: number; to: number; label: string };
  formats: ReportFormat[];
  files: Partial<Record<ReportFormat, ArchivedFile>>;
  /** "BÁO CÁO VÙNG LÕM SÓNG — Nhà mạng VNPT — …", once generated */
  title: string | null;
  trigger: 'schedule' | 'manual';
  /** schedule id for scheduled runs */
  schedule: string | null;
  /** user name for on-demand runs */
  requestedBy: string | null;
  createdAt: number;
  generatedAt: number | null;
  status: ReportStatus;
  /** why the last attempt failed (kept after a later success in `failures`) */
  error: string | null;
  attempts: number;
  failures: { at: number; attempt: number; error: string }[];
  nextAttemptAt: number | null;
  delivery: { status: DeliveryStatus; to: string[]; attempts: number; error: string | null; at: number | null };
}

export type NewEntry = Pick<ArchiveEntry, 'kind' | 'carrier' | 'scope' | 'period' | 'formats' | 'trigger' | 'schedule' | 'requestedBy'>;

export class ReportArchive {
  readonly root: string;
  private readonly indexFile: string;
  private entries = new Map<string, ArchiveEntry>();

  constructor(dataDir: string, private now: () => number = Date.now) {
    this.root = join(dataDir, 'reports');
    this.indexFile = join(this.root, 'index.json');
  }

  /** Load the index. Entries left queued/running by a previous process are marked failed, saying so. */
  open(): this {
    mkdirSync(this.root, { recursive: true });
    if (existsSync(this.indexFile)) {
      const list = JSON.parse(readFileSync(this.indexFile, 'utf8')) as ArchiveEntry[];
      for (const e of list) {
        if (e.status === 'queued' || e.status === 'running' || e.status === 'retrying') {
          e.status = 'failed';
          e.error = 'máy chủ khởi động lại khi báo cáo đang được tạo (server restarted during generation)';
          e.nextAttemptAt = null;
        }
        if (e.delivery.status === 'pending') {
          e.delivery.status = 'failed';
          e.delivery.error = 'máy chủ khởi động lại khi đang gửi (server restarted during delivery)';
        }
        this.entries.set(e.id, e);
      }
      this.save();
    }
    return this;
  }

  create(n: NewEntry): ArchiveEntry {
    const t = this.now();
    const p = vnParts(t);
    const stamp = `${p.y}${String(p.mo).padStart(2, '0')}${String(p.d).padStart(2, '0')}-${String(p.h).padStart(2, '0')}${String(p.mi).padStart(2, '0')}`;
    const e: ArchiveEntry = {
      id: `${stamp}-${randomBytes(4).toString('hex')}`,
      ...n,
      files: {},
      title: null,
      createdAt: t,
      generatedAt: null,
      status: 'queued',
      error: null,
      attempts: 0,
      failures: [],
      nextAttemptAt: null,
      delivery: { status: 'none', to: [], attempts: 0, error: null, at: null },
    };
    this.entries.set(e.id, e);
    this.save();
    return structuredClone(e);
  }

  update(id: string, patch: (e: ArchiveEntry) => void): ArchiveEntry {
    const e = this.entries.get(id);
    if (!e) throw new Error(`no report ${id}`);
    patch(e);
    this.save();
    return structuredClone(e);
  }

  get(id: string): ArchiveEntry | null {
    const e = this.entries.get(id);
    return e ? structuredClone(e) : null;
  }

  /** newest first */
  list(filter: (e: ArchiveEntry) => boolean = () => true): ArchiveEntry[] {
    return [...this.entries.values()]
      .filter(filter)
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
      .map((e) => structuredClone(e));
  }

  writeFile(id: string, format: ReportFormat, f: Omit<ArchivedFile, 'bytes'>, body: Buffer): ArchivedFile {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(f.asciiName)) throw new Error(`unsafe file name ${f.asciiName}`);
    const dir = join(this.root, id);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, f.asciiName);
    writeFileSync(`${path}.tmp`, body);
    renameSync(`${path}.tmp`, path);
    const file = { ...f, bytes: body.length };
    this.update(id, (e) => (e.files[format] = file));
    return file;
  }

  /** The stored file of a report, or null (unknown report, format not generated, file gone). */
  file(id: string, format: ReportFormat): (ArchivedFile & { path: string }) | null {
    const f = this.entries.get(id)?.files[format];
    if (!f) return null;
    const path = join(this.root, id, f.asciiName);
    return existsSync(path) ? { ...f, path } : null;
  }

  private save() {
    const tmp = `${this.indexFile}.tmp`;
    writeFileSync(tmp, JSON.stringify([...this.entries.values()], null, 1));
    renameSync(tmp, this.indexFile);
  }
}
